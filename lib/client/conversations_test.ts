import { assertEquals } from "../../tests/helpers/assert.ts";
import {
  appendPage,
  childrenOf,
  choicesThrough,
  choose,
  conversationIdOf,
  conversationPath,
  moveToTop,
  ROOT,
  siblingAt,
  type TreeNode,
  versionsOf,
  visibleBranch,
} from "./conversations.ts";

const n = (key: string, parentKey: string | null): TreeNode => ({ key, parentKey });

// u1 ─ a1
//    ├ a2 ─ u2 ─ a3
// u1b ─ a4            (u1b: an edited first prompt)
const nodes = [
  n("u1", null),
  n("a1", "u1"),
  n("a2", "u1"),
  n("u2", "a2"),
  n("a3", "u2"),
  n("u1b", null),
  n("a4", "u1b"),
];
const keys = (list: readonly TreeNode[]) => list.map((x) => x.key);

Deno.test("conversation tree - the newest version at each step by default", () => {
  const children = childrenOf(nodes);
  assertEquals(keys(children.get(ROOT)!), ["u1", "u1b"]);
  assertEquals(keys(children.get("u1")!), ["a1", "a2"]);
  assertEquals(keys(visibleBranch(children, new Map())), ["u1b", "a4"]);
});

Deno.test("conversation tree - a chosen version, and the branch below follows it", () => {
  const children = childrenOf(nodes);
  const chosen = choose(new Map(), nodes[0]!);
  assertEquals(keys(visibleBranch(children, chosen)), ["u1", "a2", "u2", "a3"]);
  const older = choose(chosen, nodes[1]!);
  assertEquals(keys(visibleBranch(children, older)), ["u1", "a1"]);
  // A choice that no longer exists falls back to the newest.
  assertEquals(keys(visibleBranch(children, new Map([[ROOT, "gone"]]))), ["u1b", "a4"]);
});

Deno.test("conversation tree - version index and count, and stepping between them", () => {
  const children = childrenOf(nodes);
  assertEquals(versionsOf(children, nodes[2]!), { index: 1, count: 2 });
  assertEquals(versionsOf(children, nodes[3]!), { index: 0, count: 1 });
  assertEquals(siblingAt(children, nodes[2]!, -1)?.key, "a1");
  assertEquals(siblingAt(children, nodes[2]!, 1), undefined);
  assertEquals(siblingAt(children, nodes[0]!, 1)?.key, "u1b");
});

Deno.test("conversation tree - the branch through a message (a search hit)", () => {
  const children = childrenOf(nodes);
  const through = choicesThrough(nodes, "u2");
  assertEquals(keys(visibleBranch(children, through)), ["u1", "a2", "u2", "a3"]);
  const throughOld = choicesThrough(nodes, "a1", through);
  assertEquals(keys(visibleBranch(children, throughOld)), ["u1", "a1"]);
});

Deno.test("conversation tree - a cycle in bad data ends the branch", () => {
  const bad = [n("x", "y"), n("y", "x"), n("r", null), n("s", "r"), n("r2", "s")];
  assertEquals(keys(visibleBranch(childrenOf(bad), new Map())), ["r", "s", "r2"]);
  assertEquals(choicesThrough(bad, "x").size, 2);
});

Deno.test("conversation list - move to top, pages without duplicates, paths", () => {
  const c = (id: string) => ({ id, title: id, createdAt: 0, updatedAt: 0 });
  assertEquals(moveToTop([c("a"), c("b")], c("b")).map((x) => x.id), ["b", "a"]);
  assertEquals(moveToTop([c("a")], c("n")).map((x) => x.id), ["n", "a"]);
  assertEquals(appendPage([c("b"), c("a")], [c("a"), c("z")]).map((x) => x.id), ["b", "a", "z"]);
  assertEquals(conversationIdOf("/c/abc-1"), "abc-1");
  assertEquals(conversationIdOf("/c/a%2Fb"), "a/b");
  assertEquals(conversationIdOf("/"), undefined);
  assertEquals(conversationIdOf("/c/x/y"), undefined);
  assertEquals(conversationPath("a/b"), "/c/a%2Fb");
  assertEquals(conversationPath(undefined), "/");
});
