import {
  findNodeAtLocation,
  type ParseError,
  parse,
  parseTree,
  printParseErrorCode,
} from 'jsonc-parser';

/** A place in a JSON text, 1-based like an editor shows it. */
export interface JsonPlace {
  line: number;
  column: number;
}

const SYNTAX_WORDS: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a "quoted" field name (no trailing comma)',
  ValueExpected: 'expected a value',
  ColonExpected: 'expected ":"',
  CommaExpected: 'expected "," between entries',
  CloseBraceExpected: 'expected "}"',
  CloseBracketExpected: 'expected "]"',
  EndOfFileExpected: 'unexpected text after the end',
  InvalidCommentToken: 'comments are not allowed in JSON',
  UnexpectedEndOfComment: 'comments are not allowed in JSON',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'unterminated number',
  InvalidUnicode: 'invalid \\u escape',
  InvalidEscapeCharacter: 'invalid escape character',
  InvalidCharacter: 'invalid character in a string (a raw newline or tab?)',
};

function placeOf(text: string, offset: number): JsonPlace {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

/**
 * The first syntax error of a JSON text that JSON.parse refused, with its line and column
 * (Node's own message gives only an offset, and not always that). Strict JSON: no comments, no
 * trailing commas.
 */
export function jsonSyntaxError(text: string): (JsonPlace & { what: string }) | undefined {
  const errors: ParseError[] = [];
  parse(text, errors, { disallowComments: true, allowTrailingComma: false });
  const [first] = errors;
  if (!first) return undefined;
  const code = printParseErrorCode(first.error);
  return { ...placeOf(text, first.offset), what: SYNTAX_WORDS[code] ?? code };
}

/**
 * Where a field sits in a JSON text: the value at `path`, or with `key`, that key's name inside
 * the object at `path` (for unknown fields). Undefined when the path is not in the text (a field
 * that is missing, say).
 */
export function locateField(
  text: string,
  path: ReadonlyArray<string | number>,
  key?: string,
): JsonPlace | undefined {
  const root = parseTree(text);
  if (!root) return undefined;
  const full = key === undefined ? [...path] : [...path, key];
  const node = findNodeAtLocation(root, full);
  if (!node) return undefined;
  // A property's value node: its parent is the property, which starts at the key.
  const at = key !== undefined && node.parent?.type === 'property' ? node.parent : node;
  return placeOf(text, at.offset);
}
