/** Kinds of values masked wherever they appear in audited text. */
export type SensitiveKind = 'secret' | 'email' | 'phone' | 'card';

/** The kinds an endpoint may choose to mask; secrets are masked always. */
export type MaskablePattern = Exclude<SensitiveKind, 'secret'>;

export const MASKABLE_PATTERNS: readonly MaskablePattern[] = ['email', 'phone', 'card'];

/** What a masked value becomes: the kind stays visible so an auditor knows what was there. */
export function maskedMarker(kind: SensitiveKind): string {
  return `[REDACTED:${kind}]`;
}

/** A case-insensitive spelling of a word, for the parts of the pattern that need it. */
function ci(word: string): string {
  return word.replace(/[a-z]/gi, (letter) => `[${letter.toLowerCase()}${letter.toUpperCase()}]`);
}

// One pass over the text: the alternatives are tried left to right at each position, credentials
// first, so a token with digits in it is masked whole rather than as a "phone number".
const SECRET_ALTERNATIVES = [
  // PEM private keys, whole. The body is bounded and stops at the next BEGIN, so a text of BEGIN
  // markers without an END costs linear time, not quadratic.
  String.raw`-----BEGIN [A-Z ]*PRIVATE KEY-----(?:(?!-----BEGIN )[\s\S]){0,16384}?-----END [A-Z ]*PRIVATE KEY-----`,
  // The credential part of an Authorization-style value.
  `(?<scheme>\\b(?:${ci('bearer')}|${ci('basic')}|${ci('token')})\\s+)[A-Za-z0-9._~+/=-]{8,}`,
  // JSON Web Tokens.
  String.raw`\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{8,}`,
  // modelgate keys, OpenAI/Anthropic-style keys, Stripe, GitHub, Slack and Google API keys.
  String.raw`(?<![A-Za-z0-9_-])mgk_[A-Za-z0-9_-]{20,}`,
  String.raw`\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}`,
  String.raw`\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}`,
  String.raw`\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})`,
  String.raw`\bxox[abposr]-[A-Za-z0-9-]{10,}`,
  String.raw`\bAIza[0-9A-Za-z_-]{35}`,
  // AWS access key ids, and a secret access key where something names it.
  String.raw`\b(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b`,
  `(?<awsname>(?:${ci('aws')})?_?${ci('secret')}_?${ci('access')}_?${ci('key')}["']?\\s*[:=]\\s*["']?)[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])`,
  // Credentials in URLs: scheme://user:password@host.
  String.raw`(?<userinfo>(?<![A-Za-z0-9+.-])[0-9+.-]*[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:)[^/\s@]+(?=@)`,
  // Assignments such as password=..., "api_key": "...".
  `(?<assign>\\b(?:${['password', 'passwd', 'pwd', 'client_secret', 'secret', 'apikey', 'access_token', 'auth_token', 'refresh_token'].map(ci).join('|').replace(/_/g, '[_-]?')}|${ci('api')}[_-]?${ci('key')})["']?\\s*[:=]\\s*["']?)[^\\s"',;&]{4,}`,
];
// From the start of a run of local-part characters (linear), or right after a separator when what
// precedes was another match (a token ending in `.john@...`), then at most 64 characters.
const EMAIL = String.raw`(?:(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+|(?<=[._%+-])[A-Za-z0-9._%+-]{1,64})@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`;
// 13-19 digits, optionally grouped by single spaces or dashes; checked with Luhn below.
const CARD = String.raw`(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])`;
// International (+country ...) or North American (555) 123-4567 shapes; digit count checked below.
const PHONE_INTERNATIONAL = String.raw`(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\w-])`;
const PHONE_NANP = String.raw`(?<![\w-])(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])`;

const SENSITIVE = new RegExp(
  [
    `(?<secret>${SECRET_ALTERNATIVES.join('|')})`,
    `(?<email>${EMAIL})`,
    `(?<card>${CARD})`,
    `(?<phone>${PHONE_INTERNATIONAL}|${PHONE_NANP})`,
  ].join('|'),
  'g',
);

/**
 * What every alternative of SENSITIVE needs somewhere in the text, tried first because it is far
 * cheaper: a digit (cards, phones), an '@' (e-mail), a ':' or '=' (assignments, URLs with a
 * password, an AWS secret access key), a scheme word and the whitespace after it ("Bearer ..."),
 * or the fixed prefix of a key or token. Ordinary prose, labels and enum values have none of
 * these and skip the scan; a test holds it to SENSITIVE on generated texts. Keep the two in step:
 * a new alternative needs its own necessary part here, or it is never looked for.
 */
const MAY_HOLD_SENSITIVE = new RegExp(
  [
    String.raw`[\d@:=]`,
    `(?:${ci('bearer')}|${ci('basic')}|${ci('token')})\\s`,
    '-----BEGIN',
    'eyJ',
    'mgk_',
    'sk-',
    'k_(?:live|test)_',
    'gh[pousr]_',
    'github_pat_',
    'xox',
    'A(?:Iza|KIA|SIA|BIA|CCA|IDA|ROA|IPA|NPA|NVA|PKA)',
  ].join('|'),
);

/** Exported so a test can hold the guard to the pattern: wherever SENSITIVE matches, the guard must. */
export const SENSITIVE_TEXT_SCAN = { pattern: SENSITIVE, guard: MAY_HOLD_SENSITIVE } as const;

/** Counts of what was masked, by kind. */
export type DetectionCounts = Partial<Record<SensitiveKind, number>>;

/**
 * Masks secrets (always) and the chosen patterns (e-mail, phone, card) in a string. Card-like
 * digit runs are masked only when they pass the Luhn check, phone-like ones only with 8 to 15
 * digits, which keeps dates, ids and measurements intact.
 */
export function maskSensitiveText(
  text: string,
  patterns: ReadonlySet<MaskablePattern> = ALL_PATTERNS,
  counts: DetectionCounts = {},
): string {
  // Nothing shorter can hold any of the patterns, and each needs one of MAY_HOLD_SENSITIVE's
  // parts: labels, enum values and plain prose skip the (costly) scan.
  if (text.length < 6 || !MAY_HOLD_SENSITIVE.test(text)) return text;
  return text.replace(SENSITIVE, (match: string, ...rest: unknown[]) => {
    const groups = rest.at(-1) as Record<string, string | undefined>;
    let kind: SensitiveKind;
    if (groups.secret !== undefined) kind = 'secret';
    else if (groups.email !== undefined) kind = 'email';
    else if (groups.card !== undefined) kind = 'card';
    else kind = 'phone';
    if (kind !== 'secret' && !patterns.has(kind)) return match;
    if (kind === 'card' && !passesLuhn(match)) return match;
    if (kind === 'phone' && !plausiblePhone(match)) return match;
    counts[kind] = (counts[kind] ?? 0) + 1;
    // Keep the label in front of a credential ("Bearer ", "password=") so the record stays readable.
    const prefix = groups.scheme ?? groups.awsname ?? groups.userinfo ?? groups.assign ?? '';
    return `${prefix}${maskedMarker(kind)}`;
  });
}

const ALL_PATTERNS: ReadonlySet<MaskablePattern> = new Set(MASKABLE_PATTERNS);

/**
 * Member names whose value is a credential whatever it looks like (`password`, `apiKey`,
 * `client_secret`, `Authorization`, ...). Compared without case, `_` or `-`.
 */
const SECRET_MEMBER_NAMES = new Set([
  'password',
  'passwd',
  'pwd',
  'secret',
  'clientsecret',
  'apikey',
  'xapikey',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'authtoken',
  'sessiontoken',
  'token',
  'bearer',
  'authorization',
  'privatekey',
  'secretkey',
  'secretaccesskey',
  'awssecretaccesskey',
  'credentials',
  'credential',
]);

/** Member names already looked at: they repeat from record to record (`role`, `content`, `model`, ...). */
const secretMemberNameSeen = new Map<string, boolean>();
/** Names invented by callers must not grow the memo without bound; past this, names are looked at each time. */
const SECRET_MEMBER_NAMES_REMEMBERED = 2_000;

/** Whether a JSON member of this name holds a credential (its value is masked outright). */
export function isSecretMemberName(name: string): boolean {
  let secret = secretMemberNameSeen.get(name);
  if (secret === undefined) {
    secret = SECRET_MEMBER_NAMES.has(name.replace(/[_-]/g, '').toLowerCase());
    if (secretMemberNameSeen.size < SECRET_MEMBER_NAMES_REMEMBERED) secretMemberNameSeen.set(name, secret);
  }
  return secret;
}

/** Whether a JSON number is a card-like value (13-19 digit integer passing Luhn). */
export function isCardLikeNumber(value: number): boolean {
  if (!Number.isSafeInteger(value) || value < 1e12) return false;
  return passesLuhn(String(value));
}

function passesLuhn(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, '');
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

function plausiblePhone(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, '').length;
  return digits >= 8 && digits <= 15;
}
