/**
 * Usernames: an equivalent of the PRECIS UsernameCaseMapped profile (RFC 8265), hardened.
 *
 * Raw input is bounded before any normalisation (NFKC of a long run of combining marks is
 * quadratic and U+FDFA expands 18x); names compare as NFKC(lower(NFKC(raw))). Registration
 * also refuses invisible characters, mixed scripts (UTS #39 "Highly Restrictive"), and names
 * that admin tooling could read as a public key string or a user id.
 */
import { AuthError } from '../errors.js';
import { parsePublicKey } from './identity.js';

export const USERNAME_MIN = 3; // code points, after normalisation
export const USERNAME_MAX = 64; // code points, after normalisation
/** Longest raw input (UTF-16 code units) looked at; anything longer is refused before normalisation. */
export const USERNAME_INPUT_MAX = 256;

function refuse(message: string): never {
  throw new AuthError('invalid_request', message);
}

/** Maps a raw username to its comparison form: bounded first (throws AuthError('invalid_request') over USERNAME_INPUT_MAX units), then NFKC, lower case, NFKC. Used for lookups at login (so legacy names stored under older rules still match). Linear time in the bounded input. */
export function normalizeUsername(raw: string): string {
  if (typeof raw !== 'string') refuse('username must be a string.');
  if (raw.length > USERNAME_INPUT_MAX) {
    refuse(`username is too long: at most ${USERNAME_INPUT_MAX} UTF-16 code units are accepted before normalisation.`);
  }
  return raw.normalize('NFKC').toLowerCase().normalize('NFKC');
}

// Unicode Script property values (long names) but Common, Inherited and Unknown, which
// UTS #39 ignores; frequent scripts first. Names this engine's ICU does not know are skipped:
// their characters are unassigned there, so not letters; a letter no script claims is refused.
const SCRIPT_NAMES = [
  'Latin', 'Cyrillic', 'Greek', 'Han', 'Arabic', 'Hiragana', 'Katakana', 'Hangul', 'Hebrew', 'Devanagari',
  'Thai', 'Bengali', 'Tamil', 'Telugu', 'Armenian', 'Georgian', 'Ethiopic', 'Gujarati', 'Gurmukhi', 'Kannada',
  'Malayalam', 'Oriya', 'Sinhala', 'Khmer', 'Lao', 'Myanmar', 'Tibetan', 'Bopomofo', 'Thaana', 'Syriac',
  'Adlam', 'Ahom', 'Anatolian_Hieroglyphs', 'Avestan', 'Balinese', 'Bamum', 'Bassa_Vah', 'Batak', 'Beria_Erfe',
  'Bhaiksuki', 'Brahmi', 'Braille', 'Buginese', 'Buhid', 'Canadian_Aboriginal', 'Carian', 'Caucasian_Albanian',
  'Chakma', 'Cham', 'Cherokee', 'Chorasmian', 'Coptic', 'Cuneiform', 'Cypriot', 'Cypro_Minoan', 'Deseret',
  'Dives_Akuru', 'Dogra', 'Duployan', 'Egyptian_Hieroglyphs', 'Elbasan', 'Elymaic', 'Garay', 'Glagolitic',
  'Gothic', 'Grantha', 'Gunjala_Gondi', 'Gurung_Khema', 'Hanifi_Rohingya', 'Hanunoo', 'Hatran',
  'Imperial_Aramaic', 'Inscriptional_Pahlavi', 'Inscriptional_Parthian', 'Javanese', 'Kaithi', 'Kawi',
  'Kayah_Li', 'Kharoshthi', 'Khitan_Small_Script', 'Khojki', 'Khudawadi', 'Kirat_Rai', 'Lepcha', 'Limbu',
  'Linear_A', 'Linear_B', 'Lisu', 'Lycian', 'Lydian', 'Mahajani', 'Makasar', 'Mandaic', 'Manichaean', 'Marchen',
  'Masaram_Gondi', 'Medefaidrin', 'Meetei_Mayek', 'Mende_Kikakui', 'Meroitic_Cursive', 'Meroitic_Hieroglyphs',
  'Miao', 'Modi', 'Mongolian', 'Mro', 'Multani', 'Nabataean', 'Nag_Mundari', 'Nandinagari', 'New_Tai_Lue', 'Newa',
  'Nko', 'Nushu', 'Nyiakeng_Puachue_Hmong', 'Ogham', 'Ol_Chiki', 'Ol_Onal', 'Old_Hungarian', 'Old_Italic',
  'Old_North_Arabian', 'Old_Permic', 'Old_Persian', 'Old_Sogdian', 'Old_South_Arabian', 'Old_Turkic', 'Old_Uyghur',
  'Osage', 'Osmanya', 'Pahawh_Hmong', 'Palmyrene', 'Pau_Cin_Hau', 'Phags_Pa', 'Phoenician', 'Psalter_Pahlavi',
  'Rejang', 'Runic', 'Samaritan', 'Saurashtra', 'Sharada', 'Shavian', 'Siddham', 'Sidetic', 'SignWriting',
  'Sogdian', 'Sora_Sompeng', 'Soyombo', 'Sundanese', 'Sunuwar', 'Syloti_Nagri', 'Tagalog', 'Tagbanwa', 'Tai_Le',
  'Tai_Tham', 'Tai_Viet', 'Tai_Yo', 'Takri', 'Tangsa', 'Tangut', 'Tifinagh', 'Tirhuta', 'Todhri', 'Tolong_Siki',
  'Toto', 'Tulu_Tigalari', 'Ugaritic', 'Vai', 'Vithkuqi', 'Wancho', 'Warang_Citi', 'Yezidi', 'Yi', 'Zanabazar_Square',
] as const;

// Compiled and exercised once at load (~20 ms) so that no call pays for regex compilation.
const SCRIPTS: ReadonlyArray<{ name: string; re: RegExp }> = SCRIPT_NAMES.flatMap((name) => {
  try {
    const re = new RegExp(`\\p{Script_Extensions=${name}}`, 'u');
    re.test('a');
    return [{ name, re }];
  } catch {
    return [];
  }
});
const COMMON_OR_INHERITED = /[\p{Script_Extensions=Common}\p{Script_Extensions=Inherited}]/u;
/** UTS #39 augmentation: Han, kana and Hangul also count as the writing systems that use them. */
const AUGMENT: Readonly<Record<string, readonly string[]>> = {
  Han: ['Jpan', 'Kore', 'Hanb'], Hiragana: ['Jpan'], Katakana: ['Jpan'], Hangul: ['Kore'], Bopomofo: ['Hanb'],
};
const CJK = ['Jpan', 'Kore', 'Hanb'] as const;
const LATIN: readonly string[] = ['Latin'];
const UNRECOGNISED: readonly string[] = [];

const CACHE_MAX = 4096;
const scriptCache = new Map<number, readonly string[] | null>();

/** The augmented Script_Extensions of one code point; null for Common and Inherited. */
function scriptsOf(ch: string): readonly string[] | null {
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x80) return (cp >= 0x61 && cp <= 0x7a) || (cp >= 0x41 && cp <= 0x5a) ? LATIN : null;
  const hit = scriptCache.get(cp);
  if (hit !== undefined) return hit;
  let result: readonly string[] | null = null;
  if (!COMMON_OR_INHERITED.test(ch)) {
    // Script_Extensions can hold several values, so every script is tested (~11 µs), then cached.
    const found: string[] = [];
    for (const { name, re } of SCRIPTS) if (re.test(ch)) found.push(name, ...(AUGMENT[name] ?? []));
    result = found.length === 0 ? UNRECOGNISED : [...new Set(found)];
  }
  if (scriptCache.size >= CACHE_MAX) scriptCache.delete(scriptCache.keys().next().value as number);
  scriptCache.set(cp, result);
  return result;
}

/** UTS #39 Highly Restrictive: one script, or Latin with Han+kana, Han+Hangul or Han+Bopomofo. */
function isHighlyRestrictive(name: string): boolean {
  let shared: readonly string[] | undefined; // undefined: no script-bearing character yet
  const latinPlus = { Jpan: true, Kore: true, Hanb: true };
  for (const ch of name) {
    const scripts = scriptsOf(ch);
    if (scripts === null) continue;
    if (scripts === UNRECOGNISED) refuse('username contains a letter whose script is not recognised.');
    shared = shared === undefined ? scripts : shared.filter((s) => scripts.includes(s));
    if (!scripts.includes('Latin')) for (const x of CJK) if (!scripts.includes(x)) latinPlus[x] = false;
  }
  return shared === undefined || shared.length > 0 || CJK.some((x) => latinPlus[x]);
}

const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/u;
const ALLOWED = /^[\p{L}\p{Mn}\p{Mc}\p{Nd}._@+-]+$/u;
const LEADING_MARK = /^\p{M}/u;
const MARK_AFTER_NON_LETTER = /[^\p{L}\p{M}]\p{M}/u;
const REPEATED_MARK = /(\p{Mn})\1/u;
const MARK_STACK = /\p{Mn}{5}/u;
/** A soft-dotted letter (i, j, ...) followed by a dot above looks exactly like the letter alone (UTS #39 section 5.4). */
const DOT_ON_SOFT_DOTTED = /\p{Soft_Dotted}\p{Mn}*\u0307/u;
const UUID_SHAPED = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/;
const PUBLIC_KEY_LENGTH = 59; // 'b' + base32 of 36 bytes

function isPublicKeyString(name: string): boolean {
  if (name.length !== PUBLIC_KEY_LENGTH || !name.startsWith('b')) return false;
  try {
    parsePublicKey(name);
    return true;
  } catch {
    return false;
  }
}

// eslint-disable-next-line no-control-regex -- the control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Whether text holds a C0 control character or DEL. No username, account id or key has one,
 * and PostgreSQL cannot store a NUL: such input is refused before it reaches a query.
 */
export function hasControlCharacter(text: string): boolean {
  return CONTROL.test(text);
}

/** Registration: normalises and enforces the whole profile; returns the normalised name or throws AuthError('invalid_request', <message saying exactly which rule>). */
export function validateUsername(raw: unknown): string {
  if (typeof raw !== 'string') refuse('username must be a string.');
  const name = normalizeUsername(raw);
  const length = [...name].length;
  if (length < USERNAME_MIN || length > USERNAME_MAX) {
    refuse(`username must be ${USERNAME_MIN} to ${USERNAME_MAX} characters long.`);
  }
  if (DEFAULT_IGNORABLE.test(name)) refuse('username must not contain invisible characters (Default_Ignorable_Code_Point).');
  if (!ALLOWED.test(name)) refuse('username may contain only letters, digits and . _ @ + -');
  if (LEADING_MARK.test(name)) refuse('username must not start with a combining mark.');
  if (MARK_AFTER_NON_LETTER.test(name)) refuse('a combining mark in a username must follow a letter.');
  // Checked decomposed, where "é" + U+0301 shows as e + U+0301 + U+0301 (UTS #39 section 5.4).
  const decomposed = name.normalize('NFD');
  if (REPEATED_MARK.test(decomposed)) refuse('username must not repeat a combining mark on the same letter.');
  if (MARK_STACK.test(decomposed)) refuse('username must not stack more than 4 combining marks on a letter.');
  if (DOT_ON_SOFT_DOTTED.test(decomposed)) refuse('username must not put a dot above i or j (it looks like the letter alone).');
  if (!isHighlyRestrictive(name)) refuse('username must be written in a single script (Latin may be mixed only with Chinese, Japanese or Korean).');
  if (isPublicKeyString(name)) refuse('username must not be a public key string.');
  if (UUID_SHAPED.test(name)) refuse('username must not look like a user id (UUID).');
  return name;
}
