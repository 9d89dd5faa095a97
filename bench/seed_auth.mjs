// Seeds the authenticated benchmark: a user, and two collections with the same 10,000 notes (title,
// ~400-char body, views, owner relation to the user, created; indexes on owner and created):
// `open_notes` with public rules and `notes` with `owner = @request.auth.id`. Writes the note ids of
// each, and the user's token, to files.
//   node bench/seed_auth.mjs URL SUPERUSER_TOKEN COUNT OUT_DIR
import { writeFileSync } from 'node:fs';
import { close, request as send } from './http.mjs';

const [url, token, countArg, outDir] = process.argv.slice(2);
const count = Number(countArg);

const request = (method, path, body, auth = token) => send(url, method, path, body, auth);

const user = await request('POST', '/api/collections/users/records', {
  email: 'bench-user@example.com',
  password: 'bench-password',
  passwordConfirm: 'bench-password',
});
const auth = await request('POST', '/api/collections/users/auth-with-password', {
  identity: 'bench-user@example.com',
  password: 'bench-password',
}, null);
writeFileSync(`${outDir}/user_token.txt`, auth.token);

const owner = 'owner = @request.auth.id';
for (const [name, rule] of [['open_notes', ''], ['notes', owner]]) {
  await request('POST', '/api/collections', {
    name,
    listRule: rule,
    viewRule: rule,
    fields: [
      { name: 'title', type: 'text' },
      { name: 'body', type: 'editor' },
      { name: 'views', type: 'number' },
      { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
      { name: 'created', type: 'autodate', onCreate: true },
    ],
    indexes: [`CREATE INDEX idx_${name}_owner ON ${name} (owner)`, `CREATE INDEX idx_${name}_created ON ${name} (created)`],
  });
}
const body = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(7);
for (const name of ['open_notes', 'notes']) {
  const ids = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < count) {
        const i = next++;
        const r = await request('POST', `/api/collections/${name}/records`, {
          title: `note ${i}`,
          body,
          views: i % 1000,
          owner: user.id,
        });
        ids.push(r.id);
      }
    }),
  );
  writeFileSync(`${outDir}/${name}_ids.txt`, ids.join('\n') + '\n');
}
console.log(`seeded ${count} notes twice (public and owner-only) for ${user.id}`);
close();
