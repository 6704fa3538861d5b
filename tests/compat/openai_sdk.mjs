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
const dev = await client.models.retrieve("troupe-dev");
check("models.retrieve(troupe-dev)", dev.id === "troupe-dev" && dev.object === "model" &&
      Number.isInteger(dev.created) && typeof dev.owned_by === "string", dev);

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

// Streaming, collected as the SDK yields it: per the API reference the last
// chunk with choices carries finish_reason, and with include_usage one more
// chunk follows with "choices": [] and the usage.
async function collect(params) {
  const chunks = [];
  for await (const chunk of await client.chat.completions.create({ ...params, stream: true })) {
    chunks.push(chunk);
  }
  const withChoices = chunks.filter((c) => c.choices.length > 0);
  const text = withChoices.map((c) => c.choices[0].delta?.content ?? "").join("");
  const finishes = withChoices.filter((c) => c.choices[0].finish_reason);
  return { chunks, withChoices, text, finishes };
}
for (const usage of [false, true]) {
  const what = usage ? "stream with usage" : "stream";
  const s = await collect({
    model: "troupe-dev",
    user: `${unique}-${what}`,
    messages: [{ role: "user", content: "stream these words" }],
    ...(usage ? { stream_options: { include_usage: true } } : {}),
  });
  check(`${what}: chunk objects`, s.chunks.every((c) => c.object === "chat.completion.chunk"),
        s.chunks);
  check(`${what}: one id`, new Set(s.chunks.map((c) => c.id)).size === 1, s.chunks);
  check(`${what}: created`, s.chunks.every((c) => Number.isInteger(c.created) && c.created > 1.6e9),
        s.chunks);
  check(`${what}: first delta's role`, s.withChoices[0]?.choices[0].delta.role === "assistant",
        s.withChoices[0]);
  check(`${what}: text`, s.text === "troupe-dev heard: stream these words (turn 1)", s.text);
  check(`${what}: in pieces`, s.withChoices.length > 2, s.withChoices.length);
  check(`${what}: finish_reason once, on the last chunk with choices`,
        s.finishes.length === 1 && s.finishes[0] === s.withChoices.at(-1) &&
        s.finishes[0].choices[0].finish_reason === "stop", s.finishes);
  const usages = s.chunks.filter((c) => c.usage);
  if (usage) {
    const last = s.chunks.at(-1);
    check(`${what}: usage chunk last, with no choices`, usages.length === 1 &&
          usages[0] === last && last.choices.length === 0, usages);
    check(`${what}: usage sums`, last.usage.total_tokens > 0 && last.usage.total_tokens ===
          last.usage.prompt_tokens + last.usage.completion_tokens, last.usage);
  } else {
    check(`${what}: no usage unless asked`, usages.length === 0, usages);
  }
}

// The SDK's helper that collects a stream into a completion.
const runner = client.chat.completions.stream({
  model: "troupe-dev",
  user: `${unique}-runner`,
  messages: [{ role: "user", content: "collect me" }],
});
const collected = await runner.finalChatCompletion();
check("stream helper", collected.choices[0].message.content ===
      "troupe-dev heard: collect me (turn 1)", collected.choices[0].message);

// Errors surface as the SDK's typed errors (status -> class per the SDK), with
// the OpenAI error object's type, code and param as the gateway documents them
// (actors/gateway/http/README.md, Errors).
async function expectError(what, cls, want, call) {
  try {
    await call();
    failures.push(`${what}: no error`);
  } catch (e) {
    check(`${what}: ${cls.name}`, e instanceof cls && e instanceof OpenAI.APIError,
          `${e?.constructor?.name}: ${e?.message}`);
    for (const [field, value] of Object.entries(want)) {
      check(`${what}: ${field}`, e[field] === value, e[field]);
    }
  }
}
await expectError("unknown model", OpenAI.NotFoundError,
  { status: 404, type: "invalid_request_error", code: "model_unknown" }, () =>
  client.chat.completions.create({ model: "nosuch/model", messages: [{ role: "user", content: "x" }] }));
await expectError("no messages", OpenAI.BadRequestError,
  { status: 400, type: "invalid_request_error", code: "invalid_request", param: "messages" }, () =>
  client.chat.completions.create({ model: "troupe-dev", messages: [] }));
await expectError("unknown model id", OpenAI.NotFoundError,
  { status: 404, type: "invalid_request_error", code: "model_not_found", param: "model" }, () =>
  client.models.retrieve("nosuch-model"));
const stranger = new OpenAI({ baseURL, apiKey: "trp_AAAAAAAAAAAA_" + "A".repeat(43), maxRetries: 0 });
await expectError("wrong key", OpenAI.AuthenticationError,
  { status: 401, type: "authentication_error", code: "invalid_token" }, () => stranger.models.list());

if (failures.length > 0) {
  console.error(`${failures.length} check(s) failed:\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
console.log("openai sdk: all checks passed");
