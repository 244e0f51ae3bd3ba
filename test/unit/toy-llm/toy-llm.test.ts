import { describe, expect, it } from 'vitest';
import { lastUserText, renderPrompt } from '../../../local/toy-llm/conversation';
import { embed } from '../../../local/toy-llm/embed';
import { generate } from '../../../local/toy-llm/generate';
import { countTokens, tokenize } from '../../../local/toy-llm/tokens';

function cosine(a: Float32Array, b: Float32Array): number {
  return a.reduce((sum, value, index) => sum + value * (b[index] ?? 0), 0);
}

describe('toy tokenizer', () => {
  it('counts words and each punctuation mark as one token, whitespace as none', () => {
    expect(tokenize('Hello, world!')).toEqual(['Hello', ',', ' world', '!']);
    expect(countTokens('Hello, world!')).toBe(4);
    expect(countTokens('  \n ')).toBe(0);
  });

  it('splits text into pieces that join back to the text, trailing spaces included', () => {
    const text = '  naïve café: 42 tokens…  ';

    expect(tokenize(text).join('')).toBe(text);
    expect(tokenize(text)).toHaveLength(countTokens(text));
  });
});

describe('toy conversation', () => {
  it('renders a conversation as role lines ending with the assistant cue, and answers the last user turn', () => {
    const turns = [
      { role: 'system', text: 'Be brief.' },
      { role: 'user', text: 'first' },
      { role: 'assistant', text: 'ok' },
      { role: 'user', text: 'second' },
    ];

    expect(renderPrompt(turns)).toBe('system: Be brief.\nuser: first\nassistant: ok\nuser: second\nassistant:');
    expect(lastUserText(turns)).toBe('second');
    expect(lastUserText([{ role: 'system', text: 'x' }])).toBe('');
  });
});

describe('toy generation', () => {
  it('answers "You said: <text>" and ends by itself with finish reason stop', () => {
    const generation = generate('  Hello there ');

    expect(generation).toEqual({
      text: 'You said: Hello there',
      pieces: ['You', ' said', ':', ' Hello', ' there'],
      completionTokens: 5,
      finishReason: 'stop',
      stopSequence: undefined,
    });
    expect(generate('').text).toBe('You said nothing.');
  });

  it('stops after maxTokens tokens with finish reason length', () => {
    const generation = generate('one two three four', { maxTokens: 3 });

    expect(generation.text).toBe('You said:');
    expect(generation.completionTokens).toBe(3);
    expect(generation.finishReason).toBe('length');
  });

  it('ends before the earliest stop sequence, which is reported and not included', () => {
    const generation = generate('alpha beta gamma', { stop: ['gamma', 'beta'] });

    expect(generation.text).toBe('You said: alpha ');
    expect(generation.finishReason).toBe('stop');
    expect(generation.stopSequence).toBe('beta');
  });

  it('reports length, not the stop sequence, when maxTokens cuts first', () => {
    const generation = generate('alpha beta gamma', { stop: ['gamma'], maxTokens: 2 });

    expect(generation.text).toBe('You said');
    expect(generation.finishReason).toBe('length');
    expect(generation.stopSequence).toBeUndefined();
  });
});

describe('toy embeddings', () => {
  it('gives the same unit vector of the asked size for the same text', () => {
    const first = embed('The quick brown fox', 256);

    expect(first).toHaveLength(256);
    expect(cosine(first, first)).toBeCloseTo(1, 5);
    expect([...embed('The quick brown fox', 256)]).toEqual([...first]);
    expect(embed('The quick brown fox', 8)).toHaveLength(8);
    expect(cosine(embed('anything', 8), embed('anything', 8))).toBeCloseTo(1, 5);
  });

  it('puts texts that share words closer together than unrelated texts', () => {
    const query = embed('refund my broken order', 256);
    const related = embed('my order arrived broken, I want a refund', 256);
    const unrelated = embed('sunny weather over the alps tomorrow', 256);

    expect(cosine(query, related)).toBeGreaterThan(cosine(query, unrelated) + 0.2);
  });

  it('embeds text without letters or digits too', () => {
    expect(cosine(embed('?!', 16), embed('?!', 16))).toBeCloseTo(1, 5);
  });
});
