// Runs once in every policy engine, before the policy module is evaluated. It receives
// `require(bytes, what)` (throws the memory limit when a step would allocate more than the call has
// left) and returns `harden(value)`. What it does, in order:
//   1. removes what no time or memory limit can interrupt: Atomics (blocking waits),
//      SharedArrayBuffer, BigInt (one squaring or toString of a huge BigInt runs for minutes),
//      every source of BigInt values, WeakRef/FinalizationRegistry (garbage-collector timing) and
//      ShadowRealm;
//   2. makes the built-ins whose result can be far larger than their inputs ask for the bytes
//      first, so a single step cannot allocate past the call's memory limit;
//   3. freezes every intrinsic and the global object: no call can leave a property behind for the
//      next one (prototype pollution, globals).
(require) => {
  'use strict';
  const { apply, construct, defineProperty, getOwnPropertyDescriptor, getPrototypeOf, ownKeys } = Reflect;
  const { freeze, isFrozen, preventExtensions } = Object;
  const TypedArray = getPrototypeOf(Uint8Array);
  const IsArray = Array.isArray;

  for (const name of ['Atomics', 'SharedArrayBuffer', 'BigInt', 'BigInt64Array', 'BigUint64Array', 'WeakRef',
    'FinalizationRegistry', 'ShadowRealm', 'Temporal']) {
    delete globalThis[name];
  }
  for (const name of ['getBigInt64', 'getBigUint64', 'setBigInt64', 'setBigUint64']) delete DataView.prototype[name];

  const method = (owner, key, wrap) => {
    const original = owner[key];
    const replacement = wrap(original);
    defineProperty(replacement, 'name', { value: original.name });
    defineProperty(replacement, 'length', { value: original.length });
    defineProperty(owner, key, { value: replacement, writable: true, enumerable: false, configurable: true });
  };
  const str = (self, what) => {
    if (self === null || self === undefined) throw new TypeError(`${what} called on null or undefined`);
    return String(self);
  };
  const int = (value) => { const n = Math.trunc(Number(value)); return Number.isNaN(n) ? 0 : n; };

  method(String.prototype, 'repeat', (repeat) => function (count) {
    const s = str(this, 'String.prototype.repeat');
    const n = int(count);
    if (n > 0 && s.length > 0) require(s.length * n * 2, 'String.prototype.repeat');
    return apply(repeat, s, [n]);
  });
  for (const key of ['padStart', 'padEnd']) {
    method(String.prototype, key, (pad) => function (maxLength, fill) {
      const s = str(this, `String.prototype.${key}`);
      const n = int(maxLength);
      if (n > s.length) require(n * 2, `String.prototype.${key}`);
      return apply(pad, s, [n, fill]);
    });
  }

  // A replacement string repeats once per match, and each of its `$` patterns can bring in up to the
  // whole subject again.
  const dollars = (replacement) => { let d = 0; for (let i = replacement.indexOf('$'); i >= 0; i = replacement.indexOf('$', i + 1)) d++; return d; };
  const perMatch = (replacement, subject) => replacement.length + dollars(replacement) * subject.length;
  const occurrences = (subject, search) => {
    if (search.length === 0) return subject.length + 1;
    let n = 0;
    for (let i = subject.indexOf(search); i >= 0; i = subject.indexOf(search, i + search.length)) n++;
    return n;
  };
  const exec = RegExp.prototype.exec;
  const requireRegExpReplace = (regex, s, replacement, what) => {
    const each = perMatch(replacement, s);
    if (!regex.global) { require((s.length + each) * 2, what); return; }
    // Small enough in the worst case (a match at every position): nothing to count.
    if ((s.length + (s.length + 1) * each) * 2 <= 65536) return;
    // Else the matches are counted on a copy of the expression (its lastIndex is the caller's), and
    // the count stops as soon as the result could not fit.
    const probe = new RegExp(regex.source, regex.flags);
    let matches = 0;
    for (let m = apply(exec, probe, [s]); m !== null; m = apply(exec, probe, [s])) {
      matches++;
      if (m[0].length === 0) probe.lastIndex++;
      if ((matches & 1023) === 0) require((s.length + matches * each) * 2, what);
    }
    require((s.length + matches * each) * 2, what);
  };
  for (const key of ['replace', 'replaceAll']) {
    method(String.prototype, key, (replace) => function (search, replacement) {
      const s = str(this, `String.prototype.${key}`);
      if (typeof replacement === 'string') {
        if (search instanceof RegExp) {
          requireRegExpReplace(search, s, replacement, `String.prototype.${key}`);
        } else if (typeof search === 'string' || typeof search === 'number') {
          const needle = String(search);
          const matches = key === 'replace' ? (s.includes(needle) ? 1 : 0) : occurrences(s, needle);
          if (matches > 0) require((s.length + matches * perMatch(replacement, s)) * 2, `String.prototype.${key}`);
        }
      }
      return apply(replace, s, [search, replacement]);
    });
  }
  method(RegExp.prototype, Symbol.replace, (replace) => function (subject, replacement) {
    if (typeof replacement === 'string' && this instanceof RegExp) {
      const s = String(subject);
      requireRegExpReplace(this, s, replacement, 'RegExp.prototype[Symbol.replace]');
      return apply(replace, this, [s, replacement]);
    }
    return apply(replace, this, [subject, replacement]);
  });
  method(String.prototype, 'concat', (concat) => function (...parts) {
    const s = str(this, 'String.prototype.concat');
    const strings = parts.map(String);
    let length = s.length;
    for (const part of strings) length += part.length;
    require(length * 2, 'String.prototype.concat');
    return apply(concat, s, strings);
  });

  // A joined array repeats its separator and can repeat one large string many times.
  const scalarLength = 24;
  method(Array.prototype, 'join', (join) => function (separator) {
    const length = this.length >>> 0;
    const sep = separator === undefined ? ',' : String(separator);
    let total = length > 0 ? (length - 1) * sep.length : 0;
    for (let i = 0; i < length; i++) {
      const e = this[i];
      total += typeof e === 'string' ? e.length : (e !== null && typeof e === 'object') || typeof e === 'function' ? 0 : scalarLength;
    }
    require(total * 2, 'Array.prototype.join');
    return apply(join, this, [sep]);
  });

  // JSON.stringify builds its text natively: each value it writes is counted as it goes (through the
  // replacer it is given, or one of ours), and the call is stopped once the text would not fit.
  const stringify = JSON.stringify;
  const maxDepth = 1024;
  method(JSON, 'stringify', () => function (value, replacer, space) {
    if (replacer !== undefined && replacer !== null && typeof replacer !== 'function') {
      // A list of keys to keep: JSON.stringify orders the output by it, which a replacer function
      // cannot; only the depth is checked first (the size is left to the memory limit).
      const seen = new Set();
      const stack = [[value, 1]];
      while (stack.length > 0) {
        const [o, depth] = stack.pop();
        if (o === null || typeof o !== 'object' || seen.has(o)) continue;
        if (depth > maxDepth) throw new RangeError(`Maximum call stack size exceeded: JSON.stringify nested deeper than ${maxDepth} levels`);
        seen.add(o);
        for (const key of Object.keys(o)) stack.push([o[key], depth + 1]);
      }
      return apply(stringify, JSON, [value, replacer, space]);
    }
    const gap = typeof space === 'number' ? Math.min(10, Math.max(0, int(space))) : typeof space === 'string' ? Math.min(10, space.length) : 0;
    const depths = new Map();
    let total = 0;
    const counting = function (key, v) {
      if (replacer) v = apply(replacer, this, [key, v]);
      const depth = (depths.get(this) ?? 0) + 1;
      // Jint's cycle check makes each level cost the depth so far: 30,000 levels took seconds in one
      // native call. Nothing a policy sends on is nested past the gateway's own limit anyway.
      if (depth > maxDepth) throw new RangeError(`Maximum call stack size exceeded: JSON.stringify nested deeper than ${maxDepth} levels`);
      if (v !== null && typeof v === 'object') depths.set(v, depth);
      total += String(key).length + 4 + gap * depth + (typeof v === 'string' ? v.length + 2 : v !== null && typeof v === 'object' ? 2 : scalarLength);
      require(total * 2, 'JSON.stringify');
      return v;
    };
    return apply(stringify, JSON, [value, counting, space]);
  });

  // Jint writes the element before it refuses a push, unshift or splice on a frozen (or otherwise
  // non-extensible) empty array: refused here first, as the specification says.
  for (const key of ['push', 'unshift', 'splice']) {
    method(Array.prototype, key, (original) => function (...args) {
      if (this !== null && (typeof this === 'object' || typeof this === 'function') && !Object.isExtensible(this)) {
        throw new TypeError(`Cannot ${key} on an array that is frozen or not extensible`);
      }
      return apply(original, this, args);
    });
  }

  // Buffers and typed arrays allocate their whole length up front. An array-like source is copied
  // into an array first, so its length is read once (a getter cannot say one thing to the check and
  // another to the constructor).
  const bytesOf = (args, elementSize) => {
    const source = args[0];
    if (source === null || typeof source !== 'object') return [int(source) * elementSize, args];
    if (source instanceof ArrayBuffer) return [0, args];
    if (IsArray(source) || source instanceof TypedArray) return [source.length * elementSize, args];
    const copy = Array.from(source);
    return [copy.length * elementSize, [copy, ...Array.prototype.slice.call(args, 1)]];
  };
  const guardConstructor = (name, elementSize) => {
    const original = globalThis[name];
    const guarded = new Proxy(original, {
      construct(target, args, newTarget) {
        let bytes;
        [bytes, args] = elementSize === 0
          ? [Math.max(int(args[0]), args[1] && typeof args[1] === 'object' ? int(args[1].maxByteLength) : 0), args]
          : bytesOf(args, elementSize);
        require(bytes, `new ${name}`);
        return construct(target, args, newTarget === guarded ? target : newTarget);
      },
    });
    defineProperty(original.prototype, 'constructor', { value: guarded, writable: true, enumerable: false, configurable: true });
    defineProperty(globalThis, name, { value: guarded, writable: true, enumerable: false, configurable: true });
  };
  guardConstructor('ArrayBuffer', 0);
  for (const [name, size] of [['Int8Array', 1], ['Uint8Array', 1], ['Uint8ClampedArray', 1], ['Int16Array', 2], ['Uint16Array', 2],
    ['Int32Array', 4], ['Uint32Array', 4], ['Float16Array', 2], ['Float32Array', 4], ['Float64Array', 8]]) {
    if (globalThis[name]) guardConstructor(name, size);
  }
  for (const key of ['transfer', 'transferToFixedLength', 'resize']) {
    if (!ArrayBuffer.prototype[key]) continue;
    method(ArrayBuffer.prototype, key, (original) => function (length) {
      if (length !== undefined) require(int(length), `ArrayBuffer.prototype.${key}`);
      return apply(original, this, arguments);
    });
  }

  // What a call can reach that is not itself a global property.
  const hidden = [
    getPrototypeOf(function* () {}), getPrototypeOf(async function () {}), getPrototypeOf(async function* () {}),
    getPrototypeOf((function* () {})()), getPrototypeOf((async function* () {})()),
    getPrototypeOf([][Symbol.iterator]()), getPrototypeOf(new Map()[Symbol.iterator]()), getPrototypeOf(new Set()[Symbol.iterator]()),
    getPrototypeOf(''[Symbol.iterator]()), getPrototypeOf('a'.matchAll(/a/g)), TypedArray,
    getOwnPropertyDescriptor(Function.prototype, 'caller')?.get,
  ];
  const optional = [
    () => getPrototypeOf([].values().map((x) => x)),
    () => getPrototypeOf(Iterator.from({ next() { return { done: true }; } })),
    () => getPrototypeOf(new Intl.Segmenter().segment('')),
    () => getPrototypeOf(new Intl.Segmenter().segment('a')[Symbol.iterator]()),
  ];
  for (const reach of optional) { try { hidden.push(reach()); } catch { /* not in this engine */ } }

  // Module-level values: frozen like the intrinsics. A regular expression keeps lastIndex writable
  // (global matching writes it) but takes no new properties; containers whose contents no freeze
  // can reach are refused, since whatever a call put in them would be there for the next call.
  const stateful = [Map, Set, WeakMap, WeakSet, Date, ArrayBuffer, DataView, TypedArray, Promise];
  const intrinsics = new Set();
  const walk = (roots, visit, seen) => {
    const queue = [...roots];
    while (queue.length > 0) {
      const o = queue.pop();
      if (o === null || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o) || intrinsics.has(o)) continue;
      seen.add(o);
      for (const key of ownKeys(o)) {
        const d = getOwnPropertyDescriptor(o, key);
        if (d === undefined) continue;
        if ('value' in d) queue.push(d.value); else queue.push(d.get, d.set);
      }
      queue.push(getPrototypeOf(o));
      visit(o);
    }
  };
  // The hardening function is reached by name from the footer the gateway appends to each module.
  const harden = (value) => walk([value], (o) => {
    if (isFrozen(o)) return;
    for (const kind of stateful) {
      if (o instanceof kind) {
        throw new TypeError(`a module-level ${kind.name || 'TypedArray'} would keep what one call puts in it for the next; create it inside the hook, or use a plain object or array`);
      }
    }
    if (o instanceof RegExp) preventExtensions(o); else freeze(o);
  }, new Set());
  defineProperty(globalThis, '__gatewayHarden', { value: harden, writable: false, enumerable: false, configurable: false });
  walk([globalThis, ...hidden], freeze, intrinsics);
  return harden;
}
