/**
 * A conversation's messages form a tree: each has a parent (`null` for a first message) and
 * siblings (children of one parent) are versions of one turn. These pure functions pick what
 * the page shows: one branch from the root down, taking at each step the child the person
 * chose, else the newest one. Nodes are identified by a `key` that never changes in the page
 * (a message's server id, or a local id until the server names it).
 */

/** The parent key of first messages. */
export const ROOT = "";

export interface TreeNode {
  readonly key: string;
  /** The parent's key; `null` for a first message. */
  readonly parentKey: string | null;
}

/** Chosen child key for each parent key ({@link ROOT} for the first messages). */
export type Choices = ReadonlyMap<string, string>;

/** Children of every parent key, in the order of `nodes` (oldest first). */
export function childrenOf<T extends TreeNode>(nodes: readonly T[]): Map<string, T[]> {
  const children = new Map<string, T[]>();
  for (const node of nodes) {
    const parent = node.parentKey ?? ROOT;
    const list = children.get(parent);
    if (list) list.push(node);
    else children.set(parent, [node]);
  }
  return children;
}

/** The branch shown: from the root, the chosen child at each step, else the newest. */
export function visibleBranch<T extends TreeNode>(
  children: ReadonlyMap<string, readonly T[]>,
  choices: Choices,
): T[] {
  const branch: T[] = [];
  const seen = new Set<string>();
  let parent = ROOT;
  for (;;) {
    const list = children.get(parent);
    if (!list || list.length === 0) return branch;
    const chosen = choices.get(parent);
    const node = (chosen !== undefined ? list.find((n) => n.key === chosen) : undefined) ??
      list[list.length - 1]!;
    if (seen.has(node.key)) return branch; // a cycle in bad data: stop rather than spin
    seen.add(node.key);
    branch.push(node);
    parent = node.key;
  }
}

export interface Versions {
  /** 0-based position among its siblings. */
  readonly index: number;
  readonly count: number;
}

/** Where `node` stands among its siblings. */
export function versionsOf<T extends TreeNode>(
  children: ReadonlyMap<string, readonly T[]>,
  node: T,
): Versions {
  const list = children.get(node.parentKey ?? ROOT) ?? [];
  const index = list.findIndex((n) => n.key === node.key);
  return { index: Math.max(0, index), count: Math.max(1, list.length) };
}

/** The sibling `step` places away from `node` (−1: previous), if there is one. */
export function siblingAt<T extends TreeNode>(
  children: ReadonlyMap<string, readonly T[]>,
  node: T,
  step: number,
): T | undefined {
  const list = children.get(node.parentKey ?? ROOT) ?? [];
  const index = list.findIndex((n) => n.key === node.key);
  return index < 0 ? undefined : list[index + step];
}

/** `choices` with `node` chosen among its siblings. */
export function choose(choices: Choices, node: TreeNode): Map<string, string> {
  const next = new Map(choices);
  next.set(node.parentKey ?? ROOT, node.key);
  return next;
}

/** `choices` changed so the visible branch passes through `key` (e.g. a search hit). */
export function choicesThrough<T extends TreeNode>(
  nodes: readonly T[],
  key: string,
  choices: Choices = new Map(),
): Map<string, string> {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const next = new Map(choices);
  const seen = new Set<string>();
  let node = byKey.get(key);
  while (node && !seen.has(node.key)) {
    seen.add(node.key);
    next.set(node.parentKey ?? ROOT, node.key);
    node = node.parentKey === null ? undefined : byKey.get(node.parentKey);
  }
  return next;
}

/** A conversation as lists show it. */
export interface ConversationSummary {
  readonly id: string;
  readonly title: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** `list` with `item` first (moved there if it was already listed, with its new fields). */
export function moveToTop(
  list: readonly ConversationSummary[],
  item: ConversationSummary,
): ConversationSummary[] {
  return [item, ...list.filter((c) => c.id !== item.id)];
}

/** Pages appended to a list: items already listed (moved up by activity meanwhile) stay once. */
export function appendPage(
  list: readonly ConversationSummary[],
  page: readonly ConversationSummary[],
): ConversationSummary[] {
  const ids = new Set(list.map((c) => c.id));
  return [...list, ...page.filter((c) => !ids.has(c.id))];
}

/** The conversation id of a page path: `/c/<id>` → id; anything else → undefined. */
export function conversationIdOf(pathname: string): string | undefined {
  const match = /^\/c\/([^/]+)\/?$/.exec(pathname);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return match[1];
  }
}

/** The page path of a conversation. */
export function conversationPath(id: string | undefined): string {
  return id === undefined ? "/" : `/c/${encodeURIComponent(id)}`;
}
