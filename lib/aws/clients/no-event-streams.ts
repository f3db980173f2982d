import { DatasyncError } from '../../errors.ts';

/**
 * What the deployed functions carry in place of the SDK's event stream codec (an esbuild alias of
 * `@smithy/core/event-streams`, infra/esbuild.config.cjs). The SDK loads that module only for an
 * operation with an event stream, and none of DynamoDB, DynamoDB Streams, SQS and EventBridge has
 * one, so the 16 KiB codec is dead weight in every bundle. Should an operation ever ask for it,
 * the call fails saying why, instead of misbehaving.
 */
function unavailable(): never {
  throw new DatasyncError(
    'CONFIGURATION',
    'this bundle leaves out the AWS SDK event stream codec (the @smithy/core/event-streams alias in infra/esbuild.config.cjs)',
  );
}

/** Stands for the SDK's event stream serializer; constructing it fails. */
export class EventStreamSerde {
  constructor() {
    unavailable();
  }
}

/** Stands for the SDK's event stream marshaller factory; calling it fails. */
export const eventStreamSerdeProvider = (): never => unavailable();
