import type { ServerResponse } from 'node:http';
import { expect } from 'vitest';
import { collect } from './outcomes';
import type { ScriptedServer } from './scripted-server';

/**
 * Reads three streams to their end, one after the other, each answered in full by `answerInFull`, and
 * asserts that one connection served all three: a stream that ended properly leaves its connection
 * for the next call, as a JSON call does.
 */
export async function expectFinishedStreamsToShareOneConnection(
  provider: ScriptedServer,
  answerInFull: (response: ServerResponse) => void,
  stream: () => AsyncIterable<unknown>,
): Promise<void> {
  // Prepare
  const ports: Array<number | undefined> = [];
  provider.answer((_request, response, raw) => {
    ports.push(raw.socket.remotePort);
    answerInFull(response);
  });
  // Act
  for (let i = 0; i < 3; i += 1) {
    await collect(stream());
    // Lets the client put the socket back in its pool before the next call.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // Assess
  expect(ports).toHaveLength(3);
  expect(new Set(ports).size).toBe(1);
}
