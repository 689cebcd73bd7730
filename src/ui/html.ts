/**
 * Escaping for the HTML this package writes (the report and the console
 * shell): text and attribute values, and JSON data blocks that a browser
 * never executes (`<script type="application/json">`, `<` escaped so no
 * string in the data can close the element).
 */

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escape text for an element's content or a quoted attribute value. */
export function escapeHtml(text: unknown): string {
  return String(text ?? '').replace(/[&<>"']/g, (c) => ESC[c]!);
}

/** JSON for a `<script type="application/json">` block: `<`, `>`, `&` and U+2028/9 escaped. */
export function jsonForHtml(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
