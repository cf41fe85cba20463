/**
 * The header's "Settings" button. The dialog itself (settings_dialog.tsx) is a separate chunk,
 * fetched on the first click, so the page's first load does not carry it.
 */
import { IconLabel } from "./header_icons.tsx";
import type { ComponentType } from "preact";
import { useRef, useState } from "preact/hooks";
import type { SettingsDialogProps } from "./settings_dialog.tsx";

export type SettingsButtonProps = Omit<SettingsDialogProps, "onClose">;

export function SettingsButton(props: SettingsButtonProps) {
  const [Dialog, setDialog] = useState<ComponentType<SettingsDialogProps> | undefined>(undefined);
  const [open, setOpen] = useState(false);
  const [failed, setFailed] = useState(false);
  const button = useRef<HTMLButtonElement>(null);

  const onClick = async () => {
    if (!Dialog) {
      try {
        const module = await import("./settings_dialog.tsx");
        setDialog(() => module.SettingsDialog);
      } catch {
        setFailed(true);
        return;
      }
    }
    setFailed(false);
    setOpen(true);
  };

  const onClose = () => {
    setOpen(false);
    button.current?.focus();
  };

  return (
    <>
      <button
        ref={button}
        type="button"
        class="btn btn-ghost btn-small"
        aria-label="Conversation settings"
        aria-haspopup="dialog"
        aria-expanded={open ? "true" : "false"}
        onClick={onClick}
      >
        <IconLabel icon="settings">Settings</IconLabel>
      </button>
      {failed && (
        <span role="alert" class="settings-failed">
          The settings could not load; reload the page.
        </span>
      )}
      {open && Dialog && <Dialog {...props} onClose={onClose} />}
    </>
  );
}
