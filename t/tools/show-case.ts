// Print what a fixture directory produces: node --import=@tapjs/typescript/import t/tools/show-case.ts t/cases/NAME
import { runCase } from '../lib/fixture.js';
process.stdout.write(runCase(process.argv[2]).output);
