// Topic templates: `peregrine.events` (one topic) or `peregrine.{event_type}` (one per event type).
// The template is checked once against every event type, so a name Kafka would refuse is a config error,
// not a failed write.

import { EVENT_TYPES, type EventType } from '@peregrine/events';

/** Kafka's legal topic names (`org.apache.kafka.common.internals.Topic`). */
export const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

const PLACEHOLDER = /\{([^{}]*)\}/g;
const FIELDS = ['event_type'] as const;

export interface TopicTemplate {
  /** Every name the template renders, one per event type, deduplicated and sorted. */
  readonly topics: string[];
  /** Why the template is unusable (empty when it is fine). */
  readonly errors: string[];
  render(type: EventType): string;
}

export function parseTopicTemplate(template: string): TopicTemplate {
  const errors: string[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (!(FIELDS as readonly string[]).includes(m[1] as string)) errors.push(`unknown placeholder {${m[1]}} (known: {${FIELDS.join('}, {')}})`);
  }
  if (errors.length === 0 && /[{}]/.test(template.replace(PLACEHOLDER, ''))) errors.push('has an unbalanced { or }');
  const render = (type: EventType): string => template.replaceAll('{event_type}', type);
  const rendered = new Map(EVENT_TYPES.map((t) => [t, render(t)] as const));
  if (errors.length === 0) {
    const checked = new Set<string>();
    for (const [type, name] of rendered) {
      if (checked.has(name)) continue;
      checked.add(name);
      const which = name === template ? '' : ` for ${type}`;
      if (name === '.' || name === '..') errors.push(`renders "${name}"${which}, which Kafka reserves`);
      else if (!TOPIC_NAME.test(name)) errors.push(`renders "${name}"${which}: a topic name must match [a-zA-Z0-9._-]{1,249}`);
    }
  }
  return {
    topics: [...new Set(rendered.values())].sort(),
    errors: [...new Set(errors)],
    render: (type) => rendered.get(type) ?? render(type),
  };
}
