import { findWithoutTransportDeny, propertyAt, referencedIds, resourcesOfType, type CfnTemplate } from './cloudformation-template';

/** Logical ids of the queues other queues redrive to. */
export function deadLetterQueueIds(template: CfnTemplate): Set<string> {
  const ids = new Set<string>();
  for (const [, queue] of resourcesOfType(template, 'AWS::SQS::Queue')) {
    for (const id of referencedIds(propertyAt(queue.Properties, 'RedrivePolicy.deadLetterTargetArn'))) ids.add(id);
  }
  return ids;
}

/** Queues not encrypted with KMS (SQS-managed SSE does not count: no key policy, no audit trail of use). */
export function findUnencryptedQueues(template: CfnTemplate): string[] {
  return resourcesOfType(template, 'AWS::SQS::Queue')
    .filter(([, queue]) => queue.Properties?.KmsMasterKeyId === undefined)
    .map(([id]) => `${id}: not encrypted with a KMS key`);
}

/** Queues whose queue policy does not refuse plain HTTP (SQS answers on http:// too). */
export function findQueuesWithoutTlsPolicy(template: CfnTemplate): string[] {
  return findWithoutTransportDeny(template, { type: 'AWS::SQS::Queue', policyType: 'AWS::SQS::QueuePolicy', targets: 'Queues', action: 'sqs:*' });
}

/** Queues, other than dead-letter queues, with no redrive policy to a dead-letter queue in the stack. */
export function findQueuesWithoutDeadLetterQueue(template: CfnTemplate): string[] {
  const deadLetterQueues = deadLetterQueueIds(template);
  return resourcesOfType(template, 'AWS::SQS::Queue').flatMap(([id, queue]) => {
    if (deadLetterQueues.has(id)) return [];
    const targets = [...referencedIds(propertyAt(queue.Properties, 'RedrivePolicy.deadLetterTargetArn'))];
    const target = targets.find((targetId) => template.Resources[targetId]?.Type === 'AWS::SQS::Queue');
    if (!target) return [`${id}: no RedrivePolicy to a dead-letter queue`];
    const maxReceiveCount = propertyAt(queue.Properties, 'RedrivePolicy.maxReceiveCount');
    return typeof maxReceiveCount === 'number' && maxReceiveCount >= 1 ? [] : [`${id}: RedrivePolicy without maxReceiveCount`];
  });
}

const SQS_DEFAULT_VISIBILITY_TIMEOUT = 30;
const LAMBDA_DEFAULT_TIMEOUT = 3;

/**
 * AWS's guidance for SQS event sources: the queue's visibility timeout at least six times the
 * function's timeout (plus the batching window), so a message is not handed to a second
 * consumer while the first, retried by Lambda, still works on it.
 */
export function findVisibilityTimeoutsTooShort(template: CfnTemplate): string[] {
  return resourcesOfType(template, 'AWS::Lambda::EventSourceMapping').flatMap(([mappingId, mapping]) => {
    const queueId = [...referencedIds(mapping.Properties?.EventSourceArn)].find((id) => template.Resources[id]?.Type === 'AWS::SQS::Queue');
    const functionId = [...referencedIds(mapping.Properties?.FunctionName)].find((id) => template.Resources[id]?.Type === 'AWS::Lambda::Function');
    if (!queueId || !functionId) return [];
    const visibility = Number(template.Resources[queueId]!.Properties?.VisibilityTimeout ?? SQS_DEFAULT_VISIBILITY_TIMEOUT);
    const timeout = Number(template.Resources[functionId]!.Properties?.Timeout ?? LAMBDA_DEFAULT_TIMEOUT);
    const batchingWindow = Number(mapping.Properties?.MaximumBatchingWindowInSeconds ?? 0);
    const needed = 6 * timeout + batchingWindow;
    return visibility >= needed
      ? []
      : [`${queueId}: VisibilityTimeout ${visibility} s < 6 × ${functionId} timeout ${timeout} s + batching window ${batchingWindow} s (${mappingId})`];
  });
}
