// server.mjs - oidc-provider configured as the interop tests need it, on 127.0.0.1 only.
//
//   node server.mjs --port-file FILE [--access-ttl S] [--interval S] [--device-ttl S]
//
// Binds 127.0.0.1 on a free port, writes the port to FILE once it is ready, and serves:
// rotation of every refresh token with reuse detection (oidc-provider's default: a rotated-out
// refresh token sent again revokes the whole grant), a short access-token lifetime, the device
// flow, revocation, introspection, client credentials, userinfo, discovery, and the built-in
// development login and consent forms (any login and password).
//
// Clients (their secrets are test values, not secrets):
//   oauthtop-cli     confidential (client_secret_basic), native, every grant
//   oauthtop-public  public (auth none, so PKCE is required), native, code + refresh + device
//   oauthtop-post    confidential (client_secret_post), client_credentials only
//   oauthtop-nort    public, no refresh_token grant: its authorizations carry no refresh token
import { writeFileSync, renameSync } from 'node:fs';
import http from 'node:http';
import process from 'node:process';

import Provider, { errors } from 'oidc-provider';

function parseArgs(argv) {
  const opts = { portFile: null, accessTtl: 60, interval: 0, deviceTtl: 600 };
  for (let i = 2; i < argv.length; i += 1) {
    const [name, inline] = argv[i].split('=', 2);
    const value = inline ?? argv[(i += 1)];
    switch (name) {
      case '--port-file': opts.portFile = value; break;
      case '--access-ttl': opts.accessTtl = Number(value); break;
      case '--interval': opts.interval = Number(value); break;
      case '--device-ttl': opts.deviceTtl = Number(value); break;
      default:
        process.stderr.write(`server.mjs: unknown option ${name}\n`);
        process.exit(2);
    }
  }
  if (!opts.portFile) {
    process.stderr.write('server.mjs: --port-file is required\n');
    process.exit(2);
  }
  return opts;
}

const ALL_GRANTS = [
  'authorization_code',
  'refresh_token',
  'urn:ietf:params:oauth:grant-type:device_code',
  'client_credentials',
];

function clients() {
  return [
    {
      client_id: 'oauthtop-cli',
      client_secret: 'interop-secret+/=%',
      token_endpoint_auth_method: 'client_secret_basic',
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ALL_GRANTS,
      response_types: ['code'],
      scope: 'openid offline_access profile api:read',
    },
    {
      client_id: 'oauthtop-public',
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ALL_GRANTS.filter((g) => g !== 'client_credentials'),
      response_types: ['code'],
      scope: 'openid offline_access profile api:read',
    },
    {
      client_id: 'oauthtop-nort',
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      scope: 'openid offline_access profile',
    },
    {
      client_id: 'oauthtop-post',
      client_secret: 'post-secret',
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'api:read',
    },
  ];
}

function configuration(opts) {
  return {
    clients: clients(),
    scopes: ['openid', 'offline_access', 'profile', 'api:read'],
    cookies: { keys: ['interop-cookie-key-not-a-secret'] },
    pkce: { required: (ctx, client) => client.clientAuthMethod === 'none' },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      clientCredentials: { enabled: true },
      userinfo: { enabled: true },
    },
    // Every refresh rotates; a rotated-out token sent again revokes the grant (the default
    // reuse detection of oidc-provider, RFC 9700 §4.14).
    rotateRefreshToken: true,
    // A refresh token whenever the client may use one, with or without offline_access.
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: {
      AccessToken: opts.accessTtl,
      ClientCredentials: opts.accessTtl,
      DeviceCode: opts.deviceTtl,
      RefreshToken: 24 * 60 * 60,
      Grant: 24 * 60 * 60,
      Session: 24 * 60 * 60,
      Interaction: 60 * 60,
      IdToken: 60 * 60,
    },
    findAccount: async (ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub, name: `interop user ${sub}` }),
    }),
  };
}

// Real servers say why a grant is refused (Keycloak: "Maximum allowed refresh token reuse
// exceeded"); oidc-provider keeps the detail out of the answer. Put it back so the tests can
// check that oauthtop records the server's reason.
function exposeGrantDetail(provider) {
  provider.on('grant.error', (ctx, err) => {
    if (err instanceof errors.InvalidGrant && err.error_detail) {
      ctx.state.grantDetail = err.error_detail;
    }
  });
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.state.grantDetail && ctx.body && ctx.body.error === 'invalid_grant') {
      ctx.body = { ...ctx.body, error_description: `${ctx.body.error_description} (${ctx.state.grantDetail})` };
    }
  });
}

// --interval S adds an `interval` member to device authorization answers (RFC 8628 §3.2),
// which oidc-provider omits (clients then default to 5 s).
function addInterval(provider, interval) {
  if (!interval) return;
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/device/auth' && ctx.status === 200 && ctx.body?.device_code) {
      ctx.body = { ...ctx.body, interval };
    }
  });
}

function writePortFile(path, port) {
  writeFileSync(`${path}.tmp`, `${port}\n`);
  renameSync(`${path}.tmp`, path);
}

const opts = parseArgs(process.argv);
const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const provider = new Provider(`http://127.0.0.1:${port}`, configuration(opts));
  exposeGrantDetail(provider);
  addInterval(provider, opts.interval);
  server.on('request', provider.callback());
  writePortFile(opts.portFile, port);
  process.stderr.write(`server.mjs: listening on http://127.0.0.1:${port}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
