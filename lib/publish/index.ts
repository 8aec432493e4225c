export { applyPublishPlan, type ApplyOptions } from './apply.js';
export type { PublishEvent, PublishReport } from './events.js';
export { parseHostUrl, type HostLocation } from './host-url.js';
export { classifyPath, STAGE_ORDER, type PublishStage } from './layout.js';
export { planPublish, planSummary, type PublishItem, type PublishPlan } from './plan.js';
export { openTransport, publish, type HostSpec, type OpenTransportOptions, type PublishOptions } from './publish.js';
export type { RemoteFile, Transport } from './transport.js';
