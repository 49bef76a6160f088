#include "wire/pack.h"

void packer_reset(struct packer *p)
{
	p->len = 0;
	p->count = 0;
}

bool packer_fits(const struct packer *p, const struct fact *f)
{
	return fact_encoded_len(f) <= sizeof(p->inner) - p->len;
}

bool packer_add(struct packer *p, const struct fact *f)
{
	size_t n = fact_encode(f, p->inner + p->len, sizeof(p->inner) - p->len);
	if (n == 0)
		return false;
	p->len += n;
	p->count++;
	return true;
}
