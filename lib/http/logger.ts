import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The structured JSON logger shared by every entry point. Service name and level come from
 * Powertools' own variables (`POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_LOG_LEVEL`).
 */
export const logger = new Logger();
