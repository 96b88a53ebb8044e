// Cheapest capable routing: a request for the model "auto" goes to the cheapest model that can
// serve it: vision when an image is attached, tools when tools are offered, a context window that
// holds the prompt. Bind it to that model: { "file": "policies/cheapest-capable.js", "models": ["auto"] }.
// Prices are USD per million tokens; keep the table in line with your providers and config.
const models = [
  { name: 'openai/gpt-4o-mini', input: 0.15, output: 0.6, vision: true, tools: true, context: 128000 },
  { name: 'gemini/gemini-2.5-flash-lite', input: 0.1, output: 0.4, vision: true, tools: true, context: 1000000 },
  { name: 'anthropic/claude-haiku-4-5', input: 1.0, output: 5.0, vision: true, tools: true, context: 200000 },
  { name: 'mistral/mistral-small-latest', input: 0.1, output: 0.3, vision: false, tools: true, context: 32000 },
];

// About four characters a token: close enough to compare prices, never used for billing.
const estimateTokens = (req) => Math.ceil(JSON.stringify(req.messages ?? []).length / 4);

const hasImage = (req) => (req.messages ?? []).some(
  (m) => Array.isArray(m.content) && m.content.some((p) => p && p.type === 'image_url'));

export function route(req, ctx) {
  if (req.model !== 'auto') return undefined;
  const prompt = estimateTokens(req);
  const answer = req.max_completion_tokens ?? req.max_tokens ?? 1000;
  const needs = { vision: hasImage(req), tools: Array.isArray(req.tools) && req.tools.length > 0 };
  const cost = (m) => (prompt * m.input + answer * m.output) / 1e6;
  const capable = models
    .filter((m) => (!needs.vision || m.vision) && (!needs.tools || m.tools) && prompt + answer <= m.context)
    .sort((a, b) => cost(a) - cost(b));
  if (capable.length === 0) return undefined; // nothing fits: 'auto' is then unknown and the client gets a 404
  return capable[0].name;
}
