// The values of a packaged template's intrinsic functions (Ref, Fn::GetAtt, Fn::Sub, Fn::Join,
// Fn::Split, Fn::If), as CloudFormation would give them in one account and region, so IAM policies
// from the template can be evaluated with concrete ARNs.
import type { Resource, Template } from '../deploy/packaged-service.ts';

/** The account the evaluation places the stack in; calls and policies resolve in the same one. */
export const ACCOUNT = '123456789012';
/** A stream label, standing in for the one DynamoDB gives a table's stream when it is created. */
const STREAM_LABEL = '2026-01-01T00:00:00.000';

const PHYSICAL_NAME: Record<string, string> = {
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::Events::EventBus': 'Name',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::Events::Rule': 'Name',
  'AWS::KMS::Alias': 'AliasName',
};

/** Resolves a template's values in `region` and `ACCOUNT`. */
export class TemplateValues {
  readonly template: Template;
  readonly region: string;
  readonly stackName: string;

  constructor(template: Template, options: { region: string; stackName: string }) {
    this.template = template;
    this.region = options.region;
    this.stackName = options.stackName;
  }

  resource(id: string): Resource {
    const found = this.template.Resources[id];
    if (!found) throw new Error(`the template has no resource ${id}`);
    return found;
  }

  /** The resource's name: its name property when it has one, else (as CloudFormation generates) its logical id. */
  physicalName(id: string): string {
    const resource = this.resource(id);
    const property = PHYSICAL_NAME[resource.Type];
    const name = property ? resource.Properties?.[property] : undefined;
    return name === undefined ? `${this.stackName}-${id}` : String(this.value(name));
  }

  #arn(service: string, resource: string, region = this.region): string {
    return `arn:aws:${service}:${region}:${ACCOUNT}:${resource}`;
  }

  /** `Fn::GetAtt` of a resource. */
  attribute(id: string, attribute: string): string {
    const { Type } = this.resource(id);
    const name = this.physicalName(id);
    const tableArn = () => this.#arn('dynamodb', `table/${name}`);
    const byType: Record<string, Record<string, () => string>> = {
      'AWS::DynamoDB::Table': { Arn: tableArn, StreamArn: () => `${tableArn()}/stream/${STREAM_LABEL}` },
      'AWS::SQS::Queue': {
        Arn: () => this.#arn('sqs', name),
        QueueName: () => name,
        QueueUrl: () => this.ref(id),
      },
      'AWS::Events::EventBus': { Arn: () => this.#arn('events', `event-bus/${name}`), Name: () => name },
      'AWS::Lambda::Function': { Arn: () => this.#arn('lambda', `function:${name}`) },
      'AWS::IAM::Role': { Arn: () => `arn:aws:iam::${ACCOUNT}:role/${name}`, RoleId: () => `AROA${id}` },
      'AWS::Logs::LogGroup': { Arn: () => this.#arn('logs', `log-group:${name}:*`) },
      'AWS::SNS::Topic': { TopicArn: () => this.#arn('sns', name), TopicName: () => name },
      'AWS::KMS::Key': { Arn: () => this.#arn('kms', `key/${id}`), KeyId: () => id },
      // A rule on a custom bus has the bus's name in its ARN.
      'AWS::Events::Rule': {
        Arn: () => {
          const bus = this.resource(id).Properties?.EventBusName;
          const busName = bus === undefined ? 'default' : String(this.value(bus));
          return this.#arn('events', busName === 'default' ? `rule/${name}` : `rule/${busName}/${name}`);
        },
      },
    };
    const get = byType[Type]?.[attribute];
    if (!get) throw new Error(`no value known for Fn::GetAtt ${id}.${attribute} (${Type})`);
    return get();
  }

  /** `Ref` of a resource or pseudo parameter. */
  ref(id: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Region': this.region,
      'AWS::AccountId': ACCOUNT,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': this.stackName,
      'AWS::NoValue': '',
    };
    if (id in pseudo) return pseudo[id]!;
    const { Type } = this.resource(id);
    const name = this.physicalName(id);
    if (Type === 'AWS::SQS::Queue') return `https://sqs.${this.region}.amazonaws.com/${ACCOUNT}/${name}`;
    if (Type === 'AWS::SNS::Topic') return this.attribute(id, 'TopicArn');
    if (Type === 'AWS::KMS::Key') return id;
    return name;
  }

  #condition(name: string): boolean {
    const condition = this.template.Conditions?.[name];
    if (condition === undefined) throw new Error(`the template has no condition ${name}`);
    return this.#truth(condition);
  }

  #truth(value: unknown): boolean {
    const object = value as Record<string, unknown[]>;
    if ('Fn::Equals' in object) {
      // CloudFormation compares the values as strings (true equals "true").
      const [a, b] = object['Fn::Equals']!.map((item) => String(this.value(item)));
      return a === b;
    }
    if ('Fn::Not' in object) return !this.#truth(object['Fn::Not']![0]);
    if ('Fn::And' in object) return object['Fn::And']!.every((item) => this.#truth(item));
    if ('Fn::Or' in object) return object['Fn::Or']!.some((item) => this.#truth(item));
    if ('Condition' in object) return this.#condition(String(object.Condition));
    throw new Error(`no value known for the condition ${JSON.stringify(value)}`);
  }

  #sub(text: string, variables: Record<string, unknown> = {}): string {
    return text.replace(/\$\{([^}!]+)\}/g, (_match, name: string) => {
      if (name in variables) return String(this.value(variables[name]));
      if (name.includes('.') && !name.startsWith('AWS::')) {
        const [id, attribute] = name.split('.') as [string, string];
        return this.attribute(id, attribute);
      }
      return this.ref(name);
    });
  }

  /** A template value with every intrinsic function resolved. */
  value(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((item) => this.value(item));
    if (value === null || typeof value !== 'object') return value;
    const object = value as Record<string, any>;
    const keys = Object.keys(object);
    if (keys.length === 1) {
      const [key] = keys as [string];
      const argument = object[key];
      switch (key) {
        case 'Ref':
          return this.ref(argument);
        case 'Fn::GetAtt': {
          const [id, attribute] = Array.isArray(argument) ? argument : String(argument).split('.');
          return this.attribute(id, attribute);
        }
        case 'Fn::Sub':
          return Array.isArray(argument) ? this.#sub(argument[0], argument[1]) : this.#sub(argument);
        case 'Fn::Join':
          return (this.value(argument[1]) as unknown[]).join(argument[0]);
        case 'Fn::Split':
          return String(this.value(argument[1])).split(argument[0]);
        case 'Fn::If':
          return this.value(this.#condition(argument[0]) ? argument[1] : argument[2]);
      }
    }
    return Object.fromEntries(keys.map((key) => [key, this.value(object[key])]));
  }
}
