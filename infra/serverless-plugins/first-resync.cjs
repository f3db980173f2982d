'use strict';
// A local serverless plugin: after `serverless deploy` has updated the stack, start one resync
// (`{"reason":"first-start"}`) so every plugin starts from the complete current state. It hooks
// only `after:deploy:deploy`, so `serverless package` and `serverless deploy function` never run
// it. Turn it off with --param="resyncAfterDeploy=false" (custom.datasync.resyncAfterDeploy).
//
// The invocation is asynchronous: a resync may take up to the function timeout, and its outcome
// is reported where every resync reports it (feedback queue; a failed invocation goes to the
// resync dead-letter queue).

class FirstResyncPlugin {
  constructor(serverless, options, { log }) {
    this.serverless = serverless;
    this.options = options;
    this.log = log;
    this.hooks = {
      'after:deploy:deploy': () => this.startResync(),
    };
  }

  async startResync() {
    const enabled = this.serverless.service.custom?.datasync?.resyncAfterDeploy;
    if (String(enabled) === 'false') {
      this.log.notice('Post-deploy resync skipped (resyncAfterDeploy=false)');
      return;
    }
    const provider = this.serverless.getProvider('aws');
    const functionName = this.serverless.service.getFunction('resync').name;
    // A failure here fails the deploy command loudly: the stack is updated, but plugins were not
    // resynced, and the operator has to run the resync by hand (docs/deploy.md).
    await provider.request('Lambda', 'invoke', {
      FunctionName: functionName,
      InvocationType: 'Event',
      // A resync request as the handler reads it (lib/resync/request.ts).
      Payload: JSON.stringify({ datasync: 'resync', reason: 'first-start' }),
    });
    this.log.notice(`Resync started (${functionName}, reason "first-start"); results arrive on the feedback queue`);
  }
}

module.exports = FirstResyncPlugin;
