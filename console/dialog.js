// A modal dialog that a keyboard can use: the browser's own <dialog> opened with showModal() (the page behind is
// inert, so Tab stays inside), Escape closes it, and focus goes back to whatever opened it.
import { html, useEffect, useRef } from '/vendor/htm-preact.js';

/** A modal dialog titled `title`; `onClose` runs on Escape, on the close button and when the caller is done. */
export function Dialog({ title, onClose, children, testid }) {
  const ref = useRef();
  useEffect(() => {
    const opener = document.activeElement;
    const dialog = ref.current;
    dialog.showModal();
    // The first field, else the first button: where a keyboard user starts.
    (dialog.querySelector('textarea, input, select') ?? dialog.querySelector('button'))?.focus();
    return () => {
      if (dialog.open) dialog.close();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    };
  }, []);
  const cancel = (e) => {
    // Escape: the browser would close the <dialog> behind Preact's back; the caller unmounts it instead.
    e.preventDefault();
    onClose();
  };
  return html`<dialog ref=${ref} class="modal" aria-labelledby="dialog-title" onCancel=${cancel} data-testid=${testid}>
    <h2 id="dialog-title">${title}</h2>
    ${children}
  </dialog>`;
}
