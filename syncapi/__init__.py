"""syncapi: keeps a point-of-sale system and a Magento 2 store in step."""
