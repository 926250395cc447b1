// Test certificates made here with openssl (t/e2e/tls.ts, t/e2e/masq-tls.ts): a test CA
// (ca.crt, ca.key) and, for each name, NAME.crt and NAME.key signed by it with the given
// subjectAltNames, valid two days, in `dir`.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function makeCerts(dir: string, certs: Array<[name: string, sans: string]>): void {
  const ssl = (args: string[]) => spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=sipproxy64 test CA']);
  for (const [name, sans] of certs) {
    ssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${sans}\n`);
    ssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
  }
}

/** Kamailio's tls.cfg: its certificate NAME, and the client's required and checked against the test CA (mutual TLS, RFC 5922 7.4). */
export function kamailioTlsCfg(dir: string, file: string, name: string): void {
  writeFileSync(join(dir, file), `[server:default]\nmethod = TLSv1.2+\nverify_certificate = yes\nrequire_certificate = yes\nca_list = ${dir}/ca.crt\nprivate_key = ${dir}/${name}.key\ncertificate = ${dir}/${name}.crt\n\n[client:default]\nverify_certificate = no\nrequire_certificate = no\n`);
}
