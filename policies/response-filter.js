// Response content filter: answers never carry the terms listed here (internal code names,
// hostnames, anything that must not leave). Matches are masked; an answer that is mostly
// blocked terms is refused instead. Whole answers only: streamed answers pass unchanged until
// the gateway calls onChunk.
const blocked = [/\bproject\s+nightingale\b/gi, /\b[a-z0-9-]+\.corp\.internal\b/gi];

const filter = (text) => {
  let hits = 0;
  let out = text;
  for (const pattern of blocked) out = out.replace(pattern, () => { hits++; return '[filtered]'; });
  return { out, hits };
};

export function onResponse(res, ctx) {
  for (const choice of res.choices ?? []) {
    const message = choice.message;
    if (!message || typeof message.content !== 'string') continue;
    const { out, hits } = filter(message.content);
    if (hits > 5) return { reject: { status: 502, message: 'The answer was withheld by the response filter.' } };
    message.content = out;
  }
  return res;
}
