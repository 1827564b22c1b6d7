/**
 * RFC 9110 token characters: what a header name may be made of. One pattern for every option
 * that names a header (schemas) and every check of a name at load.
 * https://www.rfc-editor.org/rfc/rfc9110#name-tokens
 */
export const HEADER_NAME_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

const HEADER_NAME = new RegExp(HEADER_NAME_PATTERN);

export function isHeaderName(name: string): boolean {
  return HEADER_NAME.test(name);
}
