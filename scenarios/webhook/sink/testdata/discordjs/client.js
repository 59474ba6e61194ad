// discord.js's REST client (@discordjs/rest) driving runplan's Discord sink,
// as a discord.js WebhookClient does. Run by discordjs_test.go.
//
// Usage: node client.js MODULES_DIR burst|upload BASE_URL WEBHOOK_ID [PNG_PATH THREAD_ID]
// The webhook token comes in SINK_TOKEN. BASE_URL is the sink's root
// (http://127.0.0.1:PORT): nothing leaves the machine. Prints one JSON object.
'use strict';

const path = require('node:path');
const fs = require('node:fs');
const { createRequire } = require('node:module');

const [modules, mode, base, webhookId, png, threadId] = process.argv.slice(2);
if (!base.startsWith('http://127.0.0.1:')) {
  console.error(`refusing a base URL off the loopback: ${base}`);
  process.exit(2);
}
// Resolved from the install directory, as a package there would (the
// package's exports map has no deep paths).
const { REST } = createRequire(path.join(modules, 'package.json'))('@discordjs/rest');
const token = process.env.SINK_TOKEN;
const rest = new REST({ version: '10', api: `${base}/api`, timeout: 60_000, retries: 3 });
let rateLimited = 0;
rest.on('rateLimited', () => { rateLimited++; });
const route = `/webhooks/${webhookId}/${token}`;

async function main() {
  if (mode === 'burst') {
    // WebhookClient#send: POST with wait=true and no Authorization.
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) =>
      rest.post(route, { body: { content: `burst ${i}` }, query: new URLSearchParams({ wait: 'true' }), auth: false })));
    const ok = results.filter((r) => r.status === 'fulfilled').map((r) => r.value.id);
    const errors = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
    return { ok: ok.length, ids: [...new Set(ok)], errors, rateLimited };
  }
  if (mode === 'upload') {
    const data = fs.readFileSync(png);
    const msg = await rest.post(route, {
      body: { content: 'report', embeds: [{ title: 'delivery p99' }], attachments: [{ id: 0, description: 'p99 chart' }] },
      files: [{ name: 'chart.png', data }],
      query: new URLSearchParams({ wait: 'true', thread_id: threadId }),
      auth: false,
    });
    return { channel_id: msg.channel_id, position: msg.position, embeds: msg.embeds, attachments: msg.attachments };
  }
  throw new Error(`unknown mode ${mode}`);
}

main().then((out) => { process.stdout.write(JSON.stringify(out) + '\n'); },
  (err) => { console.error(err); process.exit(1); });
