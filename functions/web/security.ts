/**
 * Headers on every page and asset the web function serves. The dashboard loads only its own
 * hashed script and stylesheet (no inline script or style); the status page carries its one
 * inline stylesheet by hash. Nothing may frame a page unless the status page allows it.
 */

export interface PageSecurity {
  /** `sha256-...` digests of inline `<style>` blocks the page carries. */
  styleHashes?: readonly string[];
  /** Let other sites embed the page in a frame (`statusPage.allowFraming`). */
  allowFraming?: boolean;
}

export const securityHeaders = (page: PageSecurity = {}): Record<string, string> => {
  const styles = ["'self'", ...(page.styleHashes ?? []).map((h) => `'${h}'`)].join(' ');
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    `style-src ${styles}`,
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    `frame-ancestors ${page.allowFraming ? '*' : "'none'"}`,
  ].join('; ');
  return {
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    ...(page.allowFraming ? {} : { 'x-frame-options': 'DENY' }),
  };
};

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text for HTML and SVG, in element content and quoted attributes alike. */
export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
