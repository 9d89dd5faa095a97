// Seeds the records benchmark: an `authors` and a `posts` collection (title, ~400-char body, views,
// published, author relation, created; indexes on created and views), then N posts created over 64
// concurrent keep-alive connections. Prints the create rate and writes the post ids to a file.
//   node bench/seed.mjs URL TOKEN COUNT IDS_FILE
import { writeFileSync } from 'node:fs';
import { close, request as send } from './http.mjs';

const [url, token, countArg, idsFile] = process.argv.slice(2);
const count = Number(countArg);

// `auth` false: as a guest (the create workload's caller).
const request = (method, path, body, auth = true) => send(url, method, path, body, auth ? token : null);

const authors = await request('POST', '/api/collections', {
  name: 'authors',
  listRule: '',
  viewRule: '',
  fields: [{ name: 'name', type: 'text' }],
});
await request('POST', '/api/collections', {
  name: 'posts',
  listRule: '',
  viewRule: '',
  createRule: '',
  fields: [
    { name: 'title', type: 'text' },
    { name: 'body', type: 'editor' },
    { name: 'views', type: 'number' },
    { name: 'published', type: 'bool' },
    { name: 'author', type: 'relation', collectionId: authors.id, maxSelect: 1 },
    { name: 'created', type: 'autodate', onCreate: true },
  ],
  indexes: ['CREATE INDEX idx_posts_created ON posts (created)', 'CREATE INDEX idx_posts_views ON posts (views)'],
});
const authorIds = [];
for (let i = 0; i < 10; i++) authorIds.push((await request('POST', '/api/collections/authors/records', { name: `author ${i}` })).id);

const body = 'lorem ipsum dolor sit amet '.repeat(15).slice(0, 400);
const ids = [];
let next = 0;
const t0 = process.hrtime.bigint();
async function worker() {
  while (next < count) {
    const i = next++;
    const rec = await request(
      'POST',
      '/api/collections/posts/records',
      { title: `post ${i}`, body, views: i % 1000, published: i % 2 === 0, author: authorIds[i % authorIds.length] },
      false,
    );
    ids.push(rec.id);
  }
}
await Promise.all(Array.from({ length: 64 }, worker));
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
writeFileSync(idsFile, ids.join('\n') + '\n');
console.log(`seeded ${count} posts in ${secs.toFixed(2)} s: ${(count / secs).toFixed(0)} creates/s (node client, 64 connections)`);
close();
