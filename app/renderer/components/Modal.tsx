/**
 * A modal on the native <dialog> element: focus is trapped, Escape closes it, the rest of the
 * window is inert. Opened on mount, so render it only while it should show.
 */
import { useEffect, useRef, type ReactNode } from 'react';

export function Modal({ title, onClose, children, className }: { title: string; onClose: () => void; children: ReactNode; className?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className={`modal ${className ?? ''}`}
      aria-labelledby="modal-title"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <h2 id="modal-title" className="modal-title">
        {title}
      </h2>
      {children}
    </dialog>
  );
}
