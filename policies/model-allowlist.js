// Per-tenant model allow-list: which models each gateway key (or its tenant) may use, by pattern.
// A request for anything else is refused with 403 before it leaves the gateway.
const allow = {
  // key id or tenant -> model patterns ('*' matches any run of characters)
  'team-research': ['openai/*', 'anthropic/*', 'gemini/*'],
  'team-support': ['openai/gpt-4o-mini', 'mock/*'],
  '*': ['mock/*'], // everyone else
};

const matches = (pattern, model) =>
  new RegExp('^' + pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$').test(model);

export function onRequest(req, ctx) {
  const rules = allow[ctx.tenant] ?? allow[ctx.keyId] ?? allow['*'];
  if (rules.some((p) => matches(p, req.model))) return undefined;
  return { reject: { status: 403, message: `The model '${req.model}' is not allowed for ${ctx.tenant ?? ctx.keyId ?? 'this key'}.` } };
}
