// The official OpenAI Node SDK against a running Troupe gateway, used exactly
// as its documentation shows. Exits 0 when every check holds; otherwise
// prints what differed and exits 1.
//
//   node openai_sdk.mjs <base_url, e.g. http://127.0.0.1:8080/v1> <api_key>
import OpenAI from "openai";

const [baseURL, apiKey] = process.argv.slice(2);
if (!baseURL || !apiKey) {
  console.error("usage: node openai_sdk.mjs <base_url> <api_key>");
  process.exit(2);
}
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 20_000 });
const failures = [];
const check = (what, ok, detail) => {
  if (!ok) failures.push(`${what}${detail === undefined ? "" : `: ${JSON.stringify(detail)}`}`);
};
const unique = `sdk-${process.pid}-${Date.now()}`;

// GET /v1/models, paged the SDK's way.
const models = [];
for await (const m of client.models.list()) models.push(m);
check("models.list() includes troupe-dev", models.some((m) => m.id === "troupe-dev"), models);
check("each model is an object 'model'", models.every((m) => m.object === "model"), models);

// Non-streaming; `user` selects the session, so the second call is turn 2.
const first = await client.chat.completions.create({
  model: "troupe-dev",
  user: unique,
  messages: [{ role: "user", content: "hello sdk" }],
});
check("completion object", first.object === "chat.completion", first.object);
check("completion id", typeof first.id === "string" && first.id.length > 0, first.id);
check("completion created", Number.isInteger(first.created) && first.created > 1.6e9, first.created);
check("completion model", first.model === "troupe-dev", first.model);
check("one choice", first.choices.length === 1, first.choices);
check("reply text", first.choices[0].message.content === "troupe-dev heard: hello sdk (turn 1)",
      first.choices[0].message);
check("reply role", first.choices[0].message.role === "assistant", first.choices[0].message);
check("finish_reason stop", first.choices[0].finish_reason === "stop", first.choices[0]);
check("usage", first.usage && first.usage.total_tokens ===
      first.usage.prompt_tokens + first.usage.completion_tokens && first.usage.total_tokens > 0,
      first.usage);
const second = await client.chat.completions.create({
  model: "troupe-dev",
  user: unique,
  messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "again" }],
});
check("same user, same session", second.choices[0].message.content ===
      "troupe-dev heard: again (turn 2)", second.choices[0].message);

// Streaming, with usage in a last chunk as stream_options asks.
const stream = await client.chat.completions.create({
  model: "troupe-dev",
  user: `${unique}-stream`,
  stream: true,
  stream_options: { include_usage: true },
  messages: [{ role: "user", content: "stream these words" }],
});
let text = "";
let finish = null;
let usage = null;
let chunks = 0;
for await (const chunk of stream) {
  chunks += 1;
  check("chunk object", chunk.object === "chat.completion.chunk", chunk);
  for (const c of chunk.choices) {
    text += c.delta?.content ?? "";
    if (c.finish_reason) finish = c.finish_reason;
  }
  if (chunk.usage) usage = chunk.usage;
}
check("streamed text", text === "troupe-dev heard: stream these words (turn 1)", text);
check("streamed in pieces", chunks > 2, chunks);
check("stream finish_reason stop", finish === "stop", finish);
check("stream usage", usage && usage.total_tokens > 0, usage);

// The SDK's helper that collects a stream into a completion.
const runner = client.chat.completions.stream({
  model: "troupe-dev",
  user: `${unique}-runner`,
  messages: [{ role: "user", content: "collect me" }],
});
const collected = await runner.finalChatCompletion();
check("stream helper", collected.choices[0].message.content ===
      "troupe-dev heard: collect me (turn 1)", collected.choices[0].message);

// Errors surface as the SDK's typed errors with our stable codes.
async function expectError(what, cls, status, call) {
  try {
    await call();
    failures.push(`${what}: no error`);
  } catch (e) {
    check(`${what}: ${cls.name}`, e instanceof cls, `${e?.constructor?.name}: ${e?.message}`);
    check(`${what}: status ${status}`, e.status === status, e.status);
    check(`${what}: error code`, typeof e.code === "string" && e.code.length > 0, e.code);
  }
}
await expectError("unknown model", OpenAI.NotFoundError, 404, () =>
  client.chat.completions.create({ model: "nosuch/model", messages: [{ role: "user", content: "x" }] }));
await expectError("no messages", OpenAI.BadRequestError, 400, () =>
  client.chat.completions.create({ model: "troupe-dev", messages: [] }));
const stranger = new OpenAI({ baseURL, apiKey: "trp_AAAAAAAAAAAA_" + "A".repeat(43), maxRetries: 0 });
await expectError("wrong key", OpenAI.AuthenticationError, 401, () => stranger.models.list());

if (failures.length > 0) {
  console.error(`${failures.length} check(s) failed:\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
console.log("openai sdk: all checks passed");
