// Response content filter: answers never carry the terms listed here (internal code names,
// hostnames, anything that must not leave). Matches are masked; an answer that is mostly blocked
// terms is refused instead. Whole answers through onResponse, streamed ones through onChunk,
// which holds back the longest tail that could still grow into a term, so a term split over two
// chunks is masked like any other.
const terms = ['project nightingale', 'db1.corp.internal'];

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const pattern = new RegExp(terms.map(escape).join('|'), 'gi');
const anyTerm = new RegExp(pattern.source, 'i');

// Every proper prefix of a term, as nested optional groups: 'abcd' gives a(?:b(?:c)?)?.
const prefixes = (term) => {
  let source = '';
  for (let i = term.length - 2; i >= 1; i--) source = '(?:' + escape(term[i]) + source + ')?';
  return escape(term[0]) + source;
};
// The longest end of a text that is the start of a term (the leftmost match is the longest): it
// must wait for the next chunk. One regular expression, so a frame costs one native match.
const unfinished = new RegExp('(?:' + terms.map(prefixes).join('|') + ')$', 'i');

const filter = (text) => {
  let hits = 0;
  const out = text.replace(pattern, () => { hits++; return '[filtered]'; });
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

export function onChunk(chunk, ctx) {
  const delta = chunk.choices?.[0]?.delta;
  const text = delta?.content;
  if (typeof text !== 'string' || text.length === 0) return undefined;
  const hit = text.search(anyTerm) >= 0;
  const tail = text.search(unfinished);
  // Most frames hold no term and end with no start of one: they go on as they came.
  if (!hit && tail < 0) return undefined;
  const out = hit ? filter(text).out : text;
  const start = hit ? out.search(unfinished) : tail;
  delta.content = out;
  return { chunk, hold: start < 0 ? 0 : out.length - start };
}
