with

source as (

    select * from {{ source('sales', 'salesorderdetail') }}

),

renamed as (

    select
        cast(salesorderid as {{ dbt.type_bigint() }}) as sales_order_id,
        cast(salesorderdetailid as {{ dbt.type_bigint() }}) as sales_order_detail_id,
        cast(carriertrackingnumber as {{ dbt.type_string() }}) as carrier_tracking_number,
        cast(orderqty as {{ dbt.type_bigint() }}) as order_quantity,
        cast(productid as {{ dbt.type_bigint() }}) as product_id,
        cast(specialofferid as {{ dbt.type_bigint() }}) as special_offer_id,
        cast(unitprice as {{ money_type() }}) as unit_price,
        cast(unitpricediscount as {{ money_type() }}) as unit_price_discount,
        cast(modifieddate as {{ dbt.type_timestamp() }}) as modified_at,
        _airbyte_extracted_at as _extracted_at

    from source

)

select * from renamed
