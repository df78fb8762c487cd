import path from 'node:path';
import { pathToFileURL } from 'node:url';
const entry = path.join(process.env.UNLEASH_DIR, 'node_modules', 'unleash-server', 'dist', 'lib', 'server-impl.js');
const unleash = await import(pathToFileURL(entry).href);
try {
  await unleash.start({
    db: { user: 'postgres', password: '', host: '127.0.0.1', port: Number(process.env.PGPORT), database: 'unleash', ssl: false },
    server: { port: Number(process.env.UNLEASH_PORT), host: '127.0.0.1' },
    versionCheck: { enable: false },
    authentication: { initApiTokens: [{ environment: '*', project: '*', secret: process.env.ADMIN_TOKEN, type: 'admin', tokenName: 'gate-tests' }] },
  });
  console.log('UNLEASH_READY');
} catch (e) { console.error(e); process.exit(1); }
