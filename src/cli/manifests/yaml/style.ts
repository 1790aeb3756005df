/** The layout of a document, read from its first nested mappings and lists (a dozen are enough). */
import type { ENode } from './read';
import type { Style } from './print';

export function column(src: string, offset: number): number {
  return offset - (src.lastIndexOf('\n', offset - 1) + 1);
}

export function lineStart(src: string, offset: number): number {
  return src.lastIndexOf('\n', offset - 1) + 1;
}

/** The offset of the `-` of a block sequence entry starting at `offset`, or -1 when the line has more before it. */
export function dashBefore(src: string, offset: number): number {
  if (offset < 0) return -1;
  const start = lineStart(src, offset);
  const m = /^( *)- +$/.exec(src.slice(start, offset));
  return m ? start + m[1].length : -1;
}

export function inferStyle(src: string, root: ENode, eol: string): Style {
  const indents = new Map<number, number>();
  let seqIndented = 0;
  let seqFlush = 0;
  let flowPadded = 0;
  let flowTight = 0;
  let samples = 0;
  const walk = (node: ENode): void => {
    if (samples >= 12) return;
    if (node.flow) {
      if (node.pairs.length + node.items.length === 0) return;
      const open = src[node.start + 1];
      if (open === ' ') flowPadded++;
      else if (open !== '\n' && open !== '\r') flowTight++;
      return;
    }
    if (node.kind === 'seq') {
      for (const item of node.items) walk(item);
      return;
    }
    for (const { key, value } of node.pairs) {
      if (samples >= 12) return;
      if (
        (value.kind !== 'map' && value.kind !== 'seq') ||
        (value.pairs.length === 0 && value.items.length === 0)
      )
        continue;
      if (value.flow) {
        walk(value);
        continue;
      }
      const keyCol = column(src, key.start);
      if (value.kind === 'map') {
        const d = column(src, value.pairs[0].key.start) - keyCol;
        if (d > 0) indents.set(d, (indents.get(d) ?? 0) + 1);
        samples++;
      } else {
        const dash = dashBefore(src, value.items[0].propsStart);
        if (dash >= 0) {
          if (column(src, dash) > keyCol) seqIndented++;
          else seqFlush++;
          samples++;
        }
      }
      walk(value);
    }
  };
  if (root.kind === 'map' || root.kind === 'seq') walk(root);
  let indent = 2;
  let best = 0;
  for (const [d, n] of indents) if (n > best) [indent, best] = [d, n];
  return { indent, indentSeq: seqIndented > seqFlush, flowPadding: flowPadded > flowTight, eol };
}
