// Prompt injection guard: refuses requests whose user or tool text carries well-known injection
// phrasing (instruction overrides, system-prompt extraction, jailbreak personas). A pattern list
// catches the common, copy-pasted attacks; it is one layer, not a proof of safety.
const patterns = [
  /\b(ignore|disregard|forget)\s+(all\s+|any\s+)?(the\s+|your\s+)?(previous|prior|above|earlier)\s+(instructions|prompts|rules|messages)/i,
  /\b(reveal|show|print|repeat|output)\s+(me\s+)?(your|the)\s+(system|hidden|initial)\s+(prompt|instructions|message)/i,
  /\byou\s+are\s+now\s+(DAN|in\s+developer\s+mode|an?\s+unrestricted)/i,
  /\bdo\s+anything\s+now\b/i,
  /<\|?(im_start|system)\|?>/i,
];

const textOf = (content) => typeof content === 'string' ? content
  : Array.isArray(content) ? content.filter((p) => p && p.type === 'text').map((p) => p.text).join('\n') : '';

export function onRequest(req, ctx) {
  for (const m of req.messages ?? []) {
    if (m.role !== 'user' && m.role !== 'tool') continue;
    const text = textOf(m.content);
    if (patterns.some((p) => p.test(text))) {
      return { reject: { status: 400, message: 'The request was refused: it looks like a prompt injection attempt.' } };
    }
  }
  return undefined; // unchanged
}
