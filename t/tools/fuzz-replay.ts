// Replay one fast-check failure of t/fuzz.ts property 1 (mutated fixtures):
//   node --import=@tapjs/typescript/import t/tools/fuzz-replay.ts SEED PATH
process.env.FUZZ_REPLAY = JSON.stringify({ seed: Number(process.argv[2]), path: process.argv[3] });
await import('../fuzz.js');
