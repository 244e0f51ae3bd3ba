/** Words that flip the meaning of what follows them in the same clause. */
const negators = new Set([
  'not', 'no', 'never', 'nothing', 'nobody', 'none', 'neither', 'nor', 'cannot', 'without', 'hardly', 'barely',
]);

/** Function words that carry no sentiment; dropping them keeps the small corpus from fitting noise. */
const stopWords = new Set([
  'a', 'an', 'the', 'and', 'or', 'but', 'i', 'me', 'my', 'we', 'us', 'our', 'you', 'your', 'it', 'its',
  'this', 'that', 'these', 'those', 'they', 'them', 'their', 'he', 'she', 'his', 'her', 'is', 'was', 'are',
  'were', 'be', 'been', 'am', 'do', 'did', 'does', 'have', 'has', 'had', 'to', 'of', 'for', 'on', 'in',
  'at', 'as', 'with', 'from', 'by', 'so', 'all', 'ca', 'wo', 'there', 'here', 'what', 'when', 'after',
]);

/**
 * Splits text into the features the sentiment model counts: lower-case words without function
 * words, where a word after a negator in the same clause becomes `not_<word>` ("not happy" and
 * "happy" must not look alike).
 */
export function sentimentTokens(text: string): string[] {
  const tokens: string[] = [];
  const clauses = text.toLowerCase().replace(/n['’]t\b/g, ' not').split(/[.,!?;:()\n]+/);
  for (const clause of clauses) {
    let negated = false;
    for (const rawWord of clause.split(/[^a-z0-9'’]+/)) {
      const word = rawWord.replace(/['’]/g, '');
      if (word === '') continue;
      if (negators.has(word)) {
        negated = true;
        continue;
      }
      if (stopWords.has(word)) continue;
      tokens.push(negated ? `not_${word}` : word);
    }
  }
  return tokens;
}
