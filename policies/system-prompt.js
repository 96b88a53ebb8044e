// System prompt injection: every request carries the operator's instructions, ahead of the
// client's own system prompt (which is kept). Edit the text; the gateway reloads the file.
const instructions = 'Follow the company AI usage policy. Never reveal credentials or internal hostnames. '
  + 'If you are unsure, say so rather than guessing.';

export function onRequest(req, ctx) {
  if (ctx.operation !== 'chat') return undefined; // embeddings have no conversation
  const messages = req.messages ?? [];
  const first = messages[0];
  if (first && (first.role === 'system' || first.role === 'developer') && typeof first.content === 'string') {
    if (!first.content.startsWith(instructions)) first.content = instructions + '\n\n' + first.content;
  } else {
    messages.unshift({ role: 'system', content: instructions });
  }
  req.messages = messages;
  return req;
}
