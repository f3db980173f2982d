// Runs with every test file of the projects that talk to AWS (jest's setupFilesAfterEnv): the AWS
// clients log each call a function of the service makes (lib/aws/clients/call-log.ts), and once the
// file's tests are done every logged call is evaluated against that function's role in the packaged
// template. A call the role (or the resource's policy) would not allow in AWS fails the file, naming
// the call, the role and the grant that is missing.
import { randomBytes } from 'node:crypto';
import { appendFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagedService } from '../deploy/packaged-service.ts';
import { describeProblems, evaluateCalls, readCallLog } from './evaluate.ts';

const file = join(tmpdir(), `datasync-aws-calls-${process.pid}-${randomBytes(4).toString('hex')}.jsonl`);
process.env.DATASYNC_AWS_CALL_LOG = file;

afterAll(async () => {
  const log = readCallLog(file);
  rmSync(file, { force: true });
  if (log.calls.length === 0) return;
  const evaluations = await evaluateCalls((await packagedService()).template, log);
  // DATASYNC_IAM_REPORT collects what every file evaluated, for docs/security.md's figures.
  const report = process.env.DATASYNC_IAM_REPORT;
  if (report) for (const evaluation of evaluations) appendFileSync(report, `${JSON.stringify(evaluation)}\n`);
  const problems = describeProblems(evaluations);
  if (problems.length > 0)
    throw new Error(`AWS would refuse calls the functions made in this file:\n${problems.join('\n')}`);
}, 300_000);
