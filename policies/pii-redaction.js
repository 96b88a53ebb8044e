// PII redaction: personal data and secrets never reach the provider.
// Each email, phone number, credit card (Luhn-checked), IBAN, US SSN, IP address and API-key-like
// secret in the conversation becomes a placeholder ([EMAIL_1], [CARD_1], ...). The gateway puts
// the values back in the answer (streamed or not), so the user sees their own data.
// The same thing, without this file: { "builtin": "pii-redaction" } in gateway.json.
const options = { mode: 'placeholder' }; // or 'mask' ([EMAIL]) or 'hash' ([EMAIL:3f9a1c2b]); kinds: ['email', ...]

const redact = (text) => (typeof text === 'string' ? gateway.redact(text, options) : text);

export function onRequest(req) {
  for (const m of req.messages ?? []) {
    if (Array.isArray(m.content)) {
      for (const part of m.content) if (part && part.type === 'text') part.text = redact(part.text);
    } else {
      m.content = redact(m.content);
    }
    for (const call of m.tool_calls ?? []) if (call.function) call.function.arguments = redact(call.function.arguments);
  }
  // Embeddings (ctx.operation === 'embeddings'): the text is in input, a string or an array of strings.
  if (typeof req.input === 'string') req.input = redact(req.input);
  else if (Array.isArray(req.input)) req.input = req.input.map(redact);
  return req;
}
