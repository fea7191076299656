// A modal confirmation on the native <dialog>: focus moves into it, Escape closes it.
import { useEffect, useRef, type ReactNode } from "react";

export function ConfirmDialog({ open, title, children, confirm, onConfirm, onClose }: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirm: string;
  onConfirm(): void;
  onClose(): void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} onClose={onClose} aria-labelledby="dialog-title">
      <h2 id="dialog-title">{title}</h2>
      <div>{children}</div>
      <div className="actions">
        <button type="button" onClick={onClose} autoFocus>Keep it</button>
        <button type="button" className="danger" onClick={onConfirm}>{confirm}</button>
      </div>
    </dialog>
  );
}
