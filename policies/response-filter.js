// Response content filter: answers never carry the terms listed here (internal code names,
// hostnames, anything that must not leave). Matches are masked; an answer that is mostly blocked
// terms is refused instead. Whole answers through onResponse, streamed ones through onChunk,
// which holds back the shortest tail that could still grow into a term, so a term split over two
// chunks is masked like any other.
const terms = ['project nightingale', 'db1.corp.internal'];

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const pattern = new RegExp(terms.map(escape).join('|'), 'gi');

const filter = (text) => {
  let hits = 0;
  const out = text.replace(pattern, () => { hits++; return '[filtered]'; });
  return { out, hits };
};

// The longest end of the text that is the start of a term: it must wait for the next chunk.
const unfinishedTail = (text) => {
  const lower = text.toLowerCase();
  let hold = 0;
  for (const term of terms)
    for (let n = Math.min(term.length - 1, lower.length); n > hold; n--)
      if (term.startsWith(lower.slice(-n))) { hold = n; break; }
  return hold;
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

export function onChunk(chunk, ctx) {
  const delta = chunk.choices?.[0]?.delta;
  if (!delta || typeof delta.content !== 'string' || delta.content.length === 0) return undefined;
  delta.content = filter(delta.content).out;
  return { chunk, hold: unfinishedTail(delta.content) };
}
