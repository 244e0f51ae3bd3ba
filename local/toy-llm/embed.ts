/**
 * The toy model's embeddings: feature hashing of the text's lower-cased words (weight 1) and of
 * their character trigrams (weight 0.5) into a fixed number of dimensions, then L2-normalised.
 * Deterministic, and texts that share words or spellings point in similar directions, which is
 * all a test or a demo needs. A request for fewer dimensions hashes into fewer buckets.
 */
export function embed(text: string, dimensions: number): Float32Array {
  const vector = new Float64Array(dimensions);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  // Text without letters or digits still gets a vector of its own, from its characters.
  const features = words.length > 0 ? words : [...text];
  for (const word of features) {
    addFeature(vector, `w:${word}`, 1);
    const padded = ` ${word} `;
    for (let at = 0; at + 3 <= padded.length; at += 1) addFeature(vector, `t:${padded.slice(at, at + 3)}`, 0.5);
  }
  return normalised(vector);
}

function addFeature(vector: Float64Array, feature: string, weight: number): void {
  const hash = fnv1a(feature);
  const index = hash % vector.length;
  const sign = hash >>> 31 === 1 ? -1 : 1;
  vector[index] = (vector[index] ?? 0) + sign * weight;
}

function normalised(values: Float64Array): Float32Array {
  let sumOfSquares = 0;
  for (const value of values) sumOfSquares += value * value;
  const result = new Float32Array(values.length);
  if (sumOfSquares === 0) {
    // The features cancelled out (possible in very few dimensions): any fixed unit vector keeps the norm at 1.
    result[0] = 1;
    return result;
  }
  const norm = Math.sqrt(sumOfSquares);
  values.forEach((value, index) => {
    result[index] = value / norm;
  });
  return result;
}

/** 32-bit FNV-1a over UTF-16 code units: tiny, stable, well spread. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}
