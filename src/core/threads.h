/* Internal: the address space OpenBLAS still needs. */
#ifndef HD_CORE_THREADS_H
#define HD_CORE_THREADS_H

#include <stddef.h>

/* HD_OK when `bytes` more fit under the address-space limit (ulimit -v)
 * with room left for a buffer per thread that OpenBLAS may still reserve
 * (its first products, and products called from parallel regions): a
 * refused reservation makes OpenBLAS retry forever.  Else HD_ENOMEM with a
 * message that gives the limit and what is in use.  No limit: HD_OK. */
int hd_address_space_room(size_t bytes);

#endif
