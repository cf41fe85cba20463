/** The "Jump to latest" button, shown while the person reads higher up in the conversation. */
import type { ScrollFollower } from "./scroll.ts";

export function JumpToLatest({ follower }: { follower: ScrollFollower }) {
  if (!follower.away.value) return null;
  return (
    <div class="jump-latest-anchor">
      <button type="button" class="btn btn-small jump-latest" onClick={follower.toEnd}>
        Jump to latest <span aria-hidden="true">↓</span>
      </button>
    </div>
  );
}
