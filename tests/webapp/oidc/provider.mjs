// A real OpenID Connect provider (the certified oidc-provider package) for the single
// sign-on tests. It listens on a free loopback port and prints one JSON line with its
// issuer, then serves until it is stopped.
//
// Beside the provider's own endpoints it has a few that only a test uses:
//   PUT /test/accounts/ID   {"name":..., "preferred_username":..., "groups":[...]}
//                           creates or changes the account ID (its subject).
//   PUT /test/tamper        {"claims": {...}} changes those claims in the next ID token
//                           the token endpoint issues, signed again with the provider's
//                           own key: what a wrong or compromised provider would send.
// The sign-in page (/interaction/UID) is a form with one field, "login", the account id.
//
// Environment: REDIRECT_URI and POST_LOGOUT_REDIRECT_URI (the client's registered ones),
// CLIENT_ID and CLIENT_SECRET, and CONFORM_ID_TOKEN_CLAIMS (see below).

import http from 'node:http';

import * as jose from 'jose';
import { Provider } from 'oidc-provider';

const accounts = new Map();
let tamper = null;

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await jose.exportJWK(privateKey)), kid: 'test-signing-key', alg: 'RS256', use: 'sig' };

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: process.env.CLIENT_ID || 'carenotes',
        client_secret: process.env.CLIENT_SECRET || 'a-test-client-secret-of-some-length',
        redirect_uris: [process.env.REDIRECT_URI || 'http://localhost/auth/sso/callback'],
        post_logout_redirect_uris: [process.env.POST_LOGOUT_REDIRECT_URI || 'http://localhost/login'],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: ['test-cookie-key-not-secret'] },
    pkce: { required: () => true },
    // As Entra ID does: the claims a scope asks for go into the ID token too (unless
    // CONFORM_ID_TOKEN_CLAIMS=1, when they are only at the userinfo endpoint).
    conformIdTokenClaims: process.env.CONFORM_ID_TOKEN_CLAIMS === '1',
    scopes: ['openid', 'profile', 'email', 'groups'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email'],
      groups: ['groups'],
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    // A first-party client: no consent screen, every supported scope granted.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) {
        const found = await ctx.oidc.provider.Grant.find(grantId);
        if (found) return found;
      }
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid profile email groups');
      await grant.save();
      return grant;
    },
    async findAccount(ctx, id) {
      const account = accounts.get(id);
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...account }) };
    },
  });

  provider.use(async (ctx, next) => {
    const path = ctx.path;
    if (ctx.method === 'PUT' && path.startsWith('/test/accounts/')) {
      accounts.set(decodeURIComponent(path.slice('/test/accounts/'.length)), JSON.parse(await readBody(ctx.req)));
      ctx.status = 204;
      return;
    }
    if (ctx.method === 'PUT' && path === '/test/tamper') {
      tamper = JSON.parse(await readBody(ctx.req)).claims;
      ctx.status = 204;
      return;
    }
    const interaction = path.match(/^\/interaction\/([^/]+)(\/login)?$/);
    if (interaction) {
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      if (ctx.method === 'GET') {
        ctx.type = 'html';
        ctx.body = `<!doctype html><title>Sign in</title><form method="post" action="/interaction/${escapeHtml(details.uid)}/login"><input name="login"><button>Sign in</button></form>`;
        return;
      }
      const login = new URLSearchParams(await readBody(ctx.req)).get('login') || '';
      if (!accounts.has(login)) {
        ctx.status = 400;
        ctx.body = 'unknown account';
        return;
      }
      const target = await provider.interactionResult(ctx.req, ctx.res, { login: { accountId: login } });
      ctx.status = 303;
      ctx.redirect(target);
      return;
    }
    await next();
    if (path === '/token' && ctx.status === 200 && tamper && ctx.body?.id_token) {
      const claims = { ...jose.decodeJwt(ctx.body.id_token), ...tamper };
      tamper = null;
      ctx.body = {
        ...ctx.body,
        id_token: await new jose.SignJWT(claims)
          .setProtectedHeader({ alg: 'RS256', kid: signingKey.kid })
          .sign(privateKey),
      };
    }
  });

  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
