import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ASYNC_REQUEST_MESSAGE_SCHEMA } from '../core/async/async-request-message';
import type { AsyncRequestQueue } from '../ports/async-request-queue';

/**
 * The async request queue. Messages carry the request id, tenant and endpoint as attributes too,
 * so an operator looking at the DLQ sees whose request a message is without opening its body.
 */
export function createSqsAsyncRequestQueue(client: SQSClient, queueUrl: string): AsyncRequestQueue {
  return {
    async send(messageText, attributes, options = {}) {
      await client.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: messageText,
          DelaySeconds: options.delaySeconds,
          MessageAttributes: {
            schema: { DataType: 'String', StringValue: ASYNC_REQUEST_MESSAGE_SCHEMA },
            requestId: { DataType: 'String', StringValue: attributes.requestId },
            tenant: { DataType: 'String', StringValue: attributes.tenant },
            endpoint: { DataType: 'String', StringValue: attributes.endpoint },
          },
        }),
      );
    },
    async retryLater(receiptHandle, seconds) {
      await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: Math.max(0, Math.round(seconds)) }));
    },
  };
}
