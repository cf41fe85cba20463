/**
 * The "Models" button beside the model picker. The dialog itself (model_manager.tsx) is
 * fetched with a dynamic `import()` on the first click, so the chat page's bundle does not
 * carry it; once loaded it stays mounted (a pull goes on while the dialog is closed).
 */
import { IconLabel } from "./header_icons.tsx";
import type { ComponentType } from "preact";
import { useSignal } from "@preact/signals";
import type { ModelManagerProps } from "./model_manager.tsx";
import type { ChatState } from "./state.ts";

export function ModelManagerButton({ state }: { state: ChatState }) {
  const open = useSignal(false);
  const manager = useSignal<ComponentType<ModelManagerProps> | undefined>(undefined);
  const failed = useSignal<string | undefined>(undefined);
  const Manager = manager.value;

  const onClick = async () => {
    failed.value = undefined;
    if (!manager.value) {
      try {
        manager.value = (await import("./model_manager.tsx")).default;
      } catch (error) {
        failed.value = `The model manager could not be loaded (${
          error instanceof Error ? error.message : String(error)
        }); reload the page and try again.`;
        return;
      }
    }
    open.value = true;
  };

  return (
    <>
      <button
        type="button"
        class="btn btn-ghost btn-small models-button"
        aria-label="Manage models"
        aria-haspopup="dialog"
        onClick={onClick}
      >
        <IconLabel icon="models">Models</IconLabel>
      </button>
      {failed.value && <p class="model-error" role="alert">{failed.value}</p>}
      {Manager && <Manager state={state} open={open} />}
    </>
  );
}
