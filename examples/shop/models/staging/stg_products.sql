with source as (

    select * from {{ source('shop_raw', 'raw_products') }}

)

select
    id as product_id,
    sku,
    name as product_name,
    category,
    price_cents,
    cast(price_cents as decimal(10, 2)) / 100 as price,
    cast(is_active as boolean) as is_active
from source
