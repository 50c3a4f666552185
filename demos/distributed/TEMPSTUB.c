#include "taskq.h"
const struct taskq_backend taskq_broker_backend = { .scheme = "tcp" };
